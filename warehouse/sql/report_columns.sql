-- The SQL session's .schema [VIEW]: columns, types and meaning of one view (or of every analyst
-- view when $name is NULL). $schema is a schema of the store (analytics, raw, core, quality) or
-- the published copy's catalog (analytics, whose views are in schema main).
SELECT table_name AS view, column_name, data_type, comment
FROM duckdb_columns()
WHERE ($name IS NULL OR table_name = $name)
  AND (schema_name = $schema OR (database_name = $schema AND schema_name = 'main'))
  AND NOT internal
ORDER BY table_name, column_index
