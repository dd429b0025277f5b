-- newsflow quality: the blocking checks that failed in the latest run that ran checks, and the
-- rows that run quarantined (the facts an alert on a failing blocking check carries).
WITH latest AS (
    SELECT run_id FROM analytics.checks ORDER BY validated_at DESC, run_id LIMIT 1
)
SELECT
    l.run_id,
    list(DISTINCT c.table_name || ': ' || c.expectation ORDER BY c.table_name || ': ' || c.expectation)
        FILTER (WHERE c.blocking AND NOT c.success) AS failed,
    (SELECT count(*) FROM analytics.quarantine AS q WHERE q.run_id = l.run_id) AS quarantined
FROM latest AS l
LEFT JOIN analytics.checks AS c USING (run_id)
GROUP BY l.run_id
