-- analytics.checks: every check result, one row per expectation evaluated (the detail behind
-- analytics.quality), so that `newsflow quality` answers from the published copy.
CREATE OR REPLACE VIEW analytics.checks AS
SELECT
    validated_at,
    run_id,
    stage,
    table_name,
    suite,
    expectation,
    column_name AS checked_column,
    blocking,
    success,
    observed_value,
    element_count,
    unexpected_count,
    unexpected_sample,
    why
FROM quality.validations;
