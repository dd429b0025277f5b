-- This run's batch of raw.page_fetches (bodies left out: the checks read their size and hash).
SELECT * EXCLUDE (body) FROM raw.page_fetches WHERE run_id = $run
