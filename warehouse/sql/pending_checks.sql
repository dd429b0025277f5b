-- Committed batches whose checks have not run (a process died in between), oldest first.
SELECT p.run_id, p.stage, p.table_name,
       list_sort(list_distinct(flatten(list(coalesce(p.keys, []))))) AS keys,
       coalesce(any_value(r.flow), p.stage) AS flow
FROM quality.pending_checks AS p
LEFT JOIN raw.runs AS r ON r.run_id = p.run_id AND r.stage = p.stage
GROUP BY p.run_id, p.stage, p.table_name
ORDER BY min(p.created_at), p.run_id, p.table_name
