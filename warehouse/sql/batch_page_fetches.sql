-- This run's batch of raw.page_fetches (bodies live apart in raw.page_bodies: the checks read
-- their size and hash).
SELECT * FROM raw.page_fetches WHERE run_id = $run
