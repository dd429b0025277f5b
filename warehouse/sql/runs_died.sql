-- Run-level ledger rows still 'running' with no closing row: runs whose process ended without
-- closing them (killed, crashed), unless they are still alive (see ledger.mark_died).
SELECT r.run_id, r.flow, r.parameters
FROM raw.runs AS r
WHERE r.stage = 'run' AND r.status = 'running' AND r.run_id <> $current
  AND NOT EXISTS (SELECT 1 FROM raw.runs AS f
                  WHERE f.run_id = r.run_id AND f.stage = 'run' AND f.status <> 'running')
ORDER BY r.started_at
