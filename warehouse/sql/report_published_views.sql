-- newsflow status: the views of the published copy (catalog analytics, schema main).
SELECT view_name
FROM duckdb_views()
WHERE database_name = 'analytics' AND schema_name = 'main' AND NOT internal
ORDER BY 1
