-- Pages not settled yet (no success, no permanent error) whose core.page_retries row is missing
-- or older than their latest attempt: each run's last attempt, for the retry policy.
-- Only a page with a transient failure can be unsettled, so the pages' histories are read for
-- those alone (failures are few; a scan of error_class finds them), not for every page stored.
WITH failed AS (
    SELECT DISTINCT url_key
    FROM raw.page_fetches
    WHERE error_class IS NOT NULL AND NOT list_contains($permanent, error_class)
),
fetches AS (
    SELECT url_key, url, occurred_at, error_class, status, retry_after_s, run_id, attempt
    FROM raw.page_fetches
    SEMI JOIN failed USING (url_key)
),
settled AS (
    SELECT DISTINCT url_key
    FROM fetches
    WHERE error_class IS NULL OR list_contains($permanent, error_class)
),
latest AS (
    SELECT url_key, max(occurred_at) AS at FROM fetches GROUP BY url_key
),
stale AS (
    SELECT l.url_key
    FROM latest AS l LEFT JOIN core.page_retries AS r USING (url_key)
    WHERE l.url_key NOT IN (SELECT url_key FROM settled)
      AND (r.url_key IS NULL OR r.last_attempt_at < l.at)
),
per_run AS (
    SELECT url_key, url, occurred_at, error_class, status, retry_after_s,
        row_number() OVER (PARTITION BY url_key, run_id ORDER BY attempt DESC, occurred_at DESC) AS rn
    FROM fetches
    WHERE url_key IN (SELECT url_key FROM stale)
)
SELECT url_key, arg_max(url, occurred_at) AS url,
    list(struct_pack(occurred_at := occurred_at, error_class := error_class, status := status,
                     retry_after_s := retry_after_s) ORDER BY occurred_at) AS attempts
FROM per_run WHERE rn = 1
GROUP BY url_key
ORDER BY url_key
