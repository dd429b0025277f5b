-- newsflow status: the latest stage runs from the ledger.
SELECT run_id[:8] AS run, stage, status, started_at::TIMESTAMP(0) AS started, seconds, counts
FROM analytics.runs
ORDER BY started_at DESC
LIMIT $limit
