-- newsflow quality: the failed checks, latest first, with what they saw and why they matter.
SELECT validated_at::TIMESTAMP(0) AS at, stage, table_name, expectation,
       CASE WHEN blocking THEN 'blocking' ELSE 'warning' END AS policy,
       observed_value, unexpected_count, element_count, unexpected_sample, why
FROM analytics.checks
WHERE NOT success AND validated_at >= $since
ORDER BY validated_at DESC, stage, table_name, expectation
LIMIT $limit
