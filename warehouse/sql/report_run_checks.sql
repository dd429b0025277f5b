-- newsflow run: checks passed and failed in one run.
SELECT count(*) FILTER (WHERE success) AS passed,
       count(*) FILTER (WHERE NOT success) AS failed
FROM quality.validations
WHERE run_id = $run_id
