-- The next part number of a run's pending batches of one table.
SELECT coalesce(max(part) + 1, 0) FROM quality.pending_checks WHERE run_id = $run AND table_name = $table
