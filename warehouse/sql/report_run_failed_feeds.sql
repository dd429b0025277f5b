-- newsflow run: each feed's last attempt in one run (the caller keeps those that failed).
SELECT f.feed_id, coalesce(c.name, c.outlet, f.url) AS feed, f.url, f.status, f.error_class,
       f.error_detail, f.not_modified, f.parse_outcome, f.parse_reason
FROM raw.feed_fetches AS f
LEFT JOIN core.feeds AS c USING (feed_id)
WHERE f.run_id = $run_id
QUALIFY row_number() OVER (PARTITION BY f.feed_id ORDER BY f.attempt DESC, f.occurred_at DESC) = 1
ORDER BY feed
