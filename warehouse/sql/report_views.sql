-- The SQL session's .tables: the analyst views with their comments. In the store they are
-- schema analytics; in the published copy (analytics.duckdb) schema main of catalog analytics.
SELECT 'analytics.' || view_name AS view, comment
FROM duckdb_views()
WHERE NOT internal
  AND (schema_name = 'analytics' OR (database_name = 'analytics' AND schema_name = 'main'))
ORDER BY 1
