-- This run's batch of raw.feed_fetches (bodies left out: the checks read their size and hash).
SELECT * EXCLUDE (body) FROM raw.feed_fetches WHERE run_id = $run
