-- Article pages we already have that a revisit may be due for: pages first fetched from a feed
-- since $horizon (the schedule's last point before now), or whose feed entry got a new version
-- after our latest request. One row per url_key with what a revisit needs: the first URL asked,
-- first success, latest request, latest feed change, validators and the latest body hash.
-- Pages whose latest answer was a permanent error (gone, 404...) are not asked again, nor pages
-- that never extracted to an article. Only the few keys that pass are read in detail (headers).
WITH quarantined AS (
    SELECT event_id FROM quality.quarantine WHERE table_name = 'raw.feed_entries'
),
entries AS (
    SELECT feed_id, entry_key, link_key, occurred_at
    FROM raw.feed_entries
    WHERE link_status = 'ok' AND link_key IS NOT NULL
      AND event_id NOT IN (SELECT event_id FROM quarantined)
),
firsts AS (  -- entries with more than one version, and when their first came
    SELECT feed_id, entry_key, min(occurred_at) AS first_at
    FROM entries
    GROUP BY feed_id, entry_key
    HAVING count(*) > 1
),
feed_changes AS (  -- the latest new version of an entry linking the page
    SELECT e.link_key AS url_key, max(e.occurred_at) AS feed_changed_at
    FROM entries AS e
    JOIN firsts AS f
      ON f.feed_id IS NOT DISTINCT FROM e.feed_id AND f.entry_key IS NOT DISTINCT FROM e.entry_key
    WHERE e.occurred_at > f.first_at
    GROUP BY e.link_key
),
candidates AS (  -- a due page was first fetched since the horizon or its entry changed, so only
                 -- these pages' histories are read, not every page's
    SELECT url_key FROM raw.page_fetches
    WHERE source = 'feed' AND error_class IS NULL AND occurred_at >= $horizon
    UNION
    SELECT url_key FROM feed_changes
),
history AS (
    SELECT url_key,
           min(occurred_at) FILTER (WHERE error_class IS NULL) AS first_seen_at,
           max(occurred_at) AS last_attempt_at,
           arg_max(error_class, occurred_at) AS last_error
    FROM raw.page_fetches
    WHERE source = 'feed'
      AND url_key IN (SELECT url_key FROM candidates)
    GROUP BY url_key
),
due AS (
    SELECT h.url_key, h.first_seen_at, h.last_attempt_at, c.feed_changed_at
    FROM history AS h
    LEFT JOIN feed_changes AS c USING (url_key)
    WHERE h.first_seen_at IS NOT NULL
      AND NOT list_contains($permanent, coalesce(h.last_error, ''))
      AND (h.first_seen_at >= $horizon OR c.feed_changed_at > h.last_attempt_at)
),
fetches AS (
    SELECT p.event_id, p.url_key, p.url, p.occurred_at, p.error_class, p.body_sha256,
           json_extract_string(p.headers, '$.etag') AS etag,
           json_extract_string(p.headers, '$."last-modified"') AS last_modified
    FROM raw.page_fetches AS p
    SEMI JOIN due USING (url_key)
    WHERE p.source = 'feed'
),
articles AS (  -- keys whose page extracted to an article at least once
    SELECT DISTINCT f.url_key
    FROM fetches AS f
    JOIN core.page_extractions AS x ON x.page_fetch_id = f.event_id
    WHERE x.page_class = 'article'
),
detail AS (
    SELECT
        url_key,
        arg_min(url, occurred_at) FILTER (WHERE error_class IS NULL) AS url,
        arg_max(etag, occurred_at) FILTER (WHERE error_class IS NULL AND etag IS NOT NULL) AS etag,
        arg_max(last_modified, occurred_at)
            FILTER (WHERE error_class IS NULL AND last_modified IS NOT NULL) AS last_modified,
        arg_max(body_sha256, occurred_at)
            FILTER (WHERE error_class IS NULL AND body_sha256 IS NOT NULL) AS body_sha256
    FROM fetches
    SEMI JOIN articles USING (url_key)
    GROUP BY url_key
),
final AS (
    SELECT d.url, d.url_key, u.first_seen_at, u.last_attempt_at, u.feed_changed_at,
           d.etag, d.last_modified, d.body_sha256
    FROM detail AS d
    JOIN due AS u USING (url_key)
)
SELECT * FROM final ORDER BY url_key
