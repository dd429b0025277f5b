-- analytics.quality: check results per run, stage and table, worst first.
CREATE OR REPLACE VIEW analytics.quality AS
SELECT
    run_id,
    stage,
    table_name,
    suite,
    count(*) AS checks,
    count(*) FILTER (WHERE success) AS passed,
    count(*) FILTER (WHERE NOT success) AS failed,
    count(*) FILTER (WHERE NOT success AND blocking) AS blocking_failed,
    list(expectation ORDER BY expectation) FILTER (WHERE NOT success) AS failed_checks,
    max(validated_at) AS validated_at
FROM quality.validations
GROUP BY ALL;
