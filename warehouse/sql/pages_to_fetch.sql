-- Article links seen in feeds that have no page yet: no successful fetch, no permanent failure,
-- not given up and not waiting (core.page_retries: a Retry-After or a transient failure's
-- backoff not over at $now). One URL per canonical key (the first seen).
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
settled AS (  -- every settled attempt, not made distinct first: NOT IN needs no distinct
              -- keys (url_key is NOT NULL), and grouping 100k keys cost a third of the query
    SELECT url_key
    FROM raw.page_fetches
    WHERE error_class IS NULL OR list_contains($permanent, error_class)
),
exhausted AS (
    SELECT url_key FROM core.page_retries WHERE gave_up_at IS NOT NULL OR next_try_at > $now
),
final AS (
    SELECT arg_min(link, occurred_at) AS link, link_key, min(occurred_at) AS first_seen_at
    FROM links
    WHERE link_key NOT IN (SELECT url_key FROM settled)
      AND link_key NOT IN (SELECT url_key FROM exhausted)
    GROUP BY link_key
)
SELECT link, link_key FROM final ORDER BY first_seen_at, link_key
