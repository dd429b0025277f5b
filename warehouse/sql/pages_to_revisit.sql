-- Article pages we already have that a revisit may be due for: pages first fetched from a feed
-- since $horizon (the schedule's last point before now), or whose feed entry got a new version
-- after our latest request. One row per url_key with what a revisit needs: the first URL asked,
-- first success, latest request, latest feed change, validators and the latest body hash.
-- Pages whose latest answer was a permanent error (gone, 404...) are not asked again, nor pages
-- that never extracted to an article. Only the few keys that pass are read in detail (headers).
-- With $now set, only the pages due at $now are returned (transforms.revisits.revisit_due, the
-- same rule: a feed change after our latest request, or a point of the schedule $offsets passed
-- since it), and of each host only its first $per_host in the plan's order (feed changes first,
-- then the longest overdue, then the key): the plan (plan_revisits) takes no more than that from
-- one host, so a store with many pages inside the horizon sends Python only the few it may
-- choose. The host here is the URL's authority, lower-cased, as urllib's urlsplit reads it: the
-- plan counts by hostname (the fetcher's limiter does), which puts authorities differing only by
-- port or user together, so this cut is finer and keeps every page the plan may take (the first
-- $per_host of a hostname are among the first $per_host of each of its authorities). With $now
-- NULL every candidate is returned.
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
candidate AS (
    SELECT h.url_key, h.first_seen_at, h.last_attempt_at, c.feed_changed_at,
           coalesce(c.feed_changed_at > h.last_attempt_at, false) AS feed_changed,
           -- the latest point of the schedule already passed at $now
           list_max(list_filter(list_transform($offsets::INTERVAL[], o -> h.first_seen_at + o),
                                t -> t <= $now)) AS point_passed
    FROM history AS h
    LEFT JOIN feed_changes AS c USING (url_key)
    WHERE h.first_seen_at IS NOT NULL
      AND NOT list_contains($permanent, coalesce(h.last_error, ''))
      AND (h.first_seen_at >= $horizon OR c.feed_changed_at > h.last_attempt_at)
),
due AS (
    SELECT url_key, first_seen_at, last_attempt_at, feed_changed_at, feed_changed,
           CASE WHEN feed_changed THEN feed_changed_at ELSE point_passed END AS due_at
    FROM candidate
    WHERE $now IS NULL OR feed_changed OR last_attempt_at < point_passed
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
           d.etag, d.last_modified, d.body_sha256, u.feed_changed, u.due_at,
           lower(regexp_extract(d.url, '^[A-Za-z][A-Za-z0-9+.-]*:(//([^/?#]*))?', 2)) AS host
    FROM detail AS d
    JOIN due AS u USING (url_key)
),
ranked AS (
    SELECT *, row_number() OVER (PARTITION BY host ORDER BY NOT feed_changed, due_at, url_key)
        AS host_rank
    FROM final
)
SELECT * EXCLUDE (feed_changed, due_at, host, host_rank) FROM ranked
-- a URL whose authority this pattern does not find (no scheme, spaces) is never cut here
WHERE $now IS NULL OR $per_host IS NULL OR host = '' OR host_rank <= $per_host
ORDER BY url_key
