-- newsflow run: the checks that failed in one run, blocking first.
SELECT stage, table_name, expectation,
       CASE WHEN blocking THEN 'blocking' ELSE 'warning' END AS policy,
       unexpected_count, element_count, why
FROM quality.validations
WHERE run_id = $run_id AND NOT success
ORDER BY blocking DESC, stage, table_name, expectation
