-- What publish compares per UTC day (of first_seen_at) of analytics.items instead of evaluating
-- the view (see publish_days_articles.sql): the items first seen that day and a token of every
-- row version an item's row is made of, read from narrow columns (never a title, summary or body).
-- An item is one link; its row reads, and so its token covers:
--   - the link's feed entries that are not quarantined (which ones: first seen, feeds, newest
--     title and summary), each with the outlet its feed has now (core.feeds is updated in place:
--     the outlet is read, not the rowid, so a feed's health updates change nothing here and a
--     renamed outlet changes exactly the items its feeds announced);
--   - every fetch of the link's page (a revisit adds one: the latest fetch may change), each with
--     every extraction of that fetch, with the row version of its article and whether the
--     analyst view shows it (a quarantine or finished check turns 'held' into 'article').
-- Filters mirror analytics.items (warehouse/views/22_items.sql) so that the same items count.
-- Each table is read once, whole, and grouped on its way up (extractions by fetch, fetches by
-- link): a fetch or extraction of a link no entry names is dropped by the last join only.
-- Joined and grouped on 64-bit hashes of the keys (link, fetch, article), not the keys: hash tables
-- of integers cost less than of long URL keys (at 104k stored items 0.28 -> 0.22 CPU s). Two keys
-- with one hash (odds about n^2 / 2^65: 3e-10 at 100k links) would only blur the row count this
-- day reports for a day it links; the token still changes with every row of either.
WITH quarantined_entries AS (
    SELECT DISTINCT event_id
    FROM quality.quarantine
    WHERE table_name = 'raw.feed_entries'
),
feeds AS (
    SELECT feed_id, coalesce(outlet, name, title, url) AS outlet FROM core.feeds
),
entries AS (
    SELECT
        hash(e.link_key) AS link,
        min(e.occurred_at) AS first_seen_at,
        sum(hash(e.rowid, e.event_id, e.content_hash, e.feed_id, e.occurred_at,
                 f.outlet)::HUGEINT) AS entries_token
    FROM raw.feed_entries AS e
    LEFT JOIN feeds AS f ON f.feed_id = e.feed_id
    WHERE e.link_key IS NOT NULL
      AND e.event_id NOT IN (SELECT event_id FROM quarantined_entries)
    GROUP BY hash(e.link_key)
),
articles AS (  -- each article's row version and whether analytics.articles shows it
    SELECT k, hash(article_row, shown) AS article_row
    FROM _publish_articles  -- publish_article_rows.sql
),
extractions AS (
    SELECT
        hash(x.page_fetch_id) AS fetch,
        sum(hash(x.rowid, x.page_fetch_id, x.extractor_version, x.article_key, x.page_class,
                 x.content_hash, a.article_row)::HUGEINT) AS extractions_token
    FROM core.page_extractions AS x
    LEFT JOIN articles AS a ON a.k = hash(x.article_key)
    GROUP BY hash(x.page_fetch_id)
),
pages AS (
    SELECT
        hash(p.url_key) AS link,
        sum(hash(p.rowid, p.event_id, x.extractions_token)::HUGEINT) AS pages_token
    FROM raw.page_fetches AS p
    LEFT JOIN extractions AS x ON x.fetch = hash(p.event_id)
    GROUP BY hash(p.url_key)
)
SELECT
    _publish_day(e.first_seen_at) AS _day,
    _publish_part(e.first_seen_at) AS _part,
    count(*) AS n,
    sum(hash(e.link, e.entries_token, p.pages_token)::HUGEINT)::VARCHAR AS token
FROM entries AS e
LEFT JOIN pages AS p ON p.link = e.link
GROUP BY _day, _part
