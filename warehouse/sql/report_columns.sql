-- The SQL session's .schema VIEW: its columns and their meaning.
SELECT column_name, data_type, comment
FROM duckdb_columns()
WHERE schema_name = $schema AND table_name = $name
ORDER BY column_index
