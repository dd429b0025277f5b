-- The newest recorded result of every suite (all its checks, as one batch's report recorded
-- them): what the daily report renders as Data Docs.
WITH newest AS (
    SELECT suite, max(validated_at) AS validated_at
    FROM quality.validations
    GROUP BY suite
)
SELECT v.suite, v.table_name, v.stage, v.run_id, v.validated_at, v.expectation, v.column_name,
       v.success, v.blocking, v.observed_value, v.element_count, v.unexpected_count,
       v.unexpected_sample, v.why
FROM quality.validations AS v
JOIN newest AS n ON n.suite = v.suite AND n.validated_at = v.validated_at
ORDER BY v.suite
