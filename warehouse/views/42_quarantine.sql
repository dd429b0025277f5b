-- analytics.quarantine: the rows a blocking check keeps out of the analyst views, with why.
CREATE OR REPLACE VIEW analytics.quarantine AS
SELECT
    quarantined_at,
    run_id,
    stage,
    table_name,
    event_id,
    reason
FROM quality.quarantine;
