-- analytics.runs: one row per run and stage with its current status. A stage whose only ledger
-- row is 'running' never finished (the process died): it shows as 'incomplete'.
CREATE OR REPLACE VIEW analytics.runs AS
WITH source AS (
    SELECT * FROM raw.runs
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY run_id, stage
            ORDER BY (status = 'running'), recorded_at DESC, status
        ) AS rn
    FROM source
),
final AS (
    SELECT
        run_id,
        flow,
        stage,
        CASE WHEN status = 'running' THEN 'incomplete' ELSE status END AS status,
        started_at,
        finished_at,
        date_diff('millisecond', started_at, finished_at) / 1000.0 AS seconds,
        counts,
        message,
        versions
    FROM ranked
    WHERE rn = 1
)
SELECT * FROM final;
