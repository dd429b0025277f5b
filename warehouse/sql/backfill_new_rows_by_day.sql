-- Page rows one run stored from WARC captures in [lo, hi), per capture day.
SELECT occurred_at::DATE AS day, count(*)
FROM raw.page_fetches
WHERE run_id = $run AND source = 'warc' AND occurred_at >= $lo AND occurred_at < $hi
GROUP BY day
