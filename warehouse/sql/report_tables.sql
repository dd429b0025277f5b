-- newsflow status: the store's own tables (raw events, core projections, quality results).
SELECT schema_name, table_name
FROM duckdb_tables()
WHERE schema_name IN ('raw', 'core', 'quality')
ORDER BY 1, 2
