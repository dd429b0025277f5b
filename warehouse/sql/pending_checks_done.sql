-- A batch's checks are recorded: it no longer waits for them.
DELETE FROM quality.pending_checks WHERE run_id = $run AND table_name = $table
