-- newsflow quality: checks passed and failed per stage and table since a day.
SELECT stage, table_name, count(DISTINCT run_id) AS runs, count(*) AS checks,
       count(*) FILTER (WHERE success) AS passed,
       count(*) FILTER (WHERE NOT success) AS failed
FROM analytics.checks
WHERE validated_at >= $since
GROUP BY ALL
ORDER BY 1, 2
