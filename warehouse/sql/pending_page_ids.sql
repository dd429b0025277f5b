-- Keys first: the ids of the pages to extract, in extraction order, without their bodies
-- (the pending placeholder below is pages_to_extract.sql; DuckDB reads no body column here).
SELECT q.event_id
FROM ({pending}) AS q
ORDER BY q.occurred_at, q.event_id
