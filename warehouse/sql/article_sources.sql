-- For each article key in _batch_keys: the feed entries that link to it (through the page fetches projected to it),
-- with when each was first seen and the date the feed gave.
WITH keyed AS (
    SELECT DISTINCT x.article_key, p.url_key
    FROM core.page_extractions AS x
    JOIN raw.page_fetches AS p ON p.event_id = x.page_fetch_id
    SEMI JOIN _batch_keys AS k ON k.article_key = x.article_key
),
entries AS (
    SELECT k.article_key, e.feed_id, e.entry_key, e.occurred_at, e.published_at
    FROM keyed AS k
    JOIN raw.feed_entries AS e ON e.link_key = k.url_key
)
SELECT
    article_key,
    feed_id,
    entry_key,
    min(occurred_at) AS first_seen_at,
    arg_min(published_at, occurred_at) AS feed_published_at
FROM entries
GROUP BY article_key, feed_id, entry_key
ORDER BY article_key, first_seen_at, feed_id, entry_key
