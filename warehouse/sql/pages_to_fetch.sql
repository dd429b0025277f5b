-- Article links seen in feeds that have no page yet: no successful fetch, no permanent failure,
-- and fewer than $max_runs runs that tried and failed. One URL per canonical key (the first seen).
-- Entries a blocking check quarantined lend no links: a link only they carry is not fetched.
WITH quarantined AS (
    SELECT event_id FROM quality.quarantine WHERE table_name = 'raw.feed_entries'
),
links AS (
    SELECT link, link_key, occurred_at
    FROM raw.feed_entries
    WHERE link_status = 'ok' AND link_key IS NOT NULL
      AND event_id NOT IN (SELECT event_id FROM quarantined)
),
settled AS (
    SELECT DISTINCT url_key
    FROM raw.page_fetches
    WHERE error_class IS NULL OR list_contains($permanent, error_class)
),
exhausted AS (
    SELECT url_key
    FROM raw.page_fetches
    GROUP BY url_key
    HAVING count(DISTINCT run_id) >= $max_runs
),
final AS (
    SELECT arg_min(link, occurred_at) AS link, link_key, min(occurred_at) AS first_seen_at
    FROM links
    WHERE link_key NOT IN (SELECT url_key FROM settled)
      AND link_key NOT IN (SELECT url_key FROM exhausted)
    GROUP BY link_key
)
SELECT link, link_key FROM final ORDER BY first_seen_at, link_key
