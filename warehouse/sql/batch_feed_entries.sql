-- This run's batch of raw.feed_entries.
SELECT * FROM raw.feed_entries WHERE run_id = $run
