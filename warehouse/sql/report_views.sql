-- The SQL session's .tables: the analyst views with their comments.
SELECT schema_name || '.' || view_name AS view, comment
FROM duckdb_views()
WHERE schema_name = 'analytics'
ORDER BY 1
