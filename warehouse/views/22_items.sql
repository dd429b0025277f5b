-- analytics.items: every item a feed announced (one row per distinct article link), whether its
-- page became an article or not, so an analyst counting an outlet's coverage sees every item.
-- status: 'article' (in analytics.articles; short briefs and paywalled teasers included, see
-- is_short and access), 'held' (an article quarantined by a blocking check or whose checks have
-- not run), the page class of a page that gave no article (suspect_paywall, consent_wall,
-- bot_challenge, js_shell, login_wall, too_short, no_content, ...), 'fetch_failed', 'not_fetched'
-- or 'not_extracted' (transforms.vocab.ItemStatus); reason says why. The title, authors, date and
-- outlet come from the article, else from what the page says about itself, else from the feed
-- entry; feed_summary is the feed's own summary. Full texts stay in analytics.articles.
CREATE OR REPLACE VIEW analytics.items AS
WITH quarantined_entries AS (
    SELECT DISTINCT event_id
    FROM quality.quarantine
    WHERE table_name = 'raw.feed_entries'
),
entries AS (
    -- the first feed that announced each link, and the newest thing the feeds said about it
    SELECT
        e.link_key,
        arg_min(e.feed_id, e.occurred_at) AS feed_id,
        arg_min(e.link, e.occurred_at) AS link,
        min(e.occurred_at) AS first_seen_at,
        count(DISTINCT e.feed_id) AS feeds,
        arg_max(e.title, e.occurred_at) AS feed_title,
        arg_max(e.summary, e.occurred_at) AS feed_summary,
        arg_max(e.authors, e.occurred_at) AS feed_authors,
        arg_max(e.published_at, e.occurred_at) AS feed_published_at
    FROM raw.feed_entries AS e
    WHERE e.link_key IS NOT NULL
      AND e.event_id NOT IN (SELECT event_id FROM quarantined_entries)
    GROUP BY e.link_key
),
fetches AS (
    -- the latest fetch attempt of each link's page
    SELECT
        url_key,
        arg_max(event_id, occurred_at) AS page_fetch_id,
        arg_max(status, occurred_at) AS http_status,
        arg_max(error_class, occurred_at) AS error_class,
        max(occurred_at) AS fetched_at
    FROM raw.page_fetches
    WHERE url_key IN (SELECT link_key FROM entries)
    GROUP BY url_key
),
extractions AS (
    -- the outcome of the newest page that was extracted (a later failed re-fetch does not hide
    -- an article), by the newest extractor
    SELECT p.url_key, x.*
    FROM core.page_extractions AS x
    JOIN raw.page_fetches AS p ON p.event_id = x.page_fetch_id
    WHERE p.url_key IN (SELECT link_key FROM entries)
    QUALIFY row_number() OVER (PARTITION BY p.url_key
                               ORDER BY p.occurred_at DESC, x.extractor_version DESC) = 1
),
feeds AS (
    SELECT feed_id, coalesce(outlet, name, title, url) AS outlet FROM core.feeds
),
joined AS (
    SELECT
        coalesce(x.article_key, e.link_key) AS article_key,
        e.link,
        coalesce(a.outlet, fd.outlet, x.site_name) AS outlet,
        e.feed_id,
        e.feeds,
        CASE
            WHEN a.article_key IS NOT NULL THEN 'article'
            WHEN c.article_key IS NOT NULL THEN 'held'
            WHEN x.page_class IS NOT NULL AND x.page_class <> 'article' THEN x.page_class
            WHEN x.page_class = 'article' THEN 'held'
            WHEN f.error_class IS NOT NULL OR f.http_status >= 400 THEN 'fetch_failed'
            WHEN f.page_fetch_id IS NULL THEN 'not_fetched'
            ELSE 'not_extracted'
        END AS status,
        CASE
            WHEN a.article_key IS NOT NULL THEN NULL
            WHEN c.article_key IS NOT NULL OR x.page_class = 'article'
                THEN 'quarantined by a blocking check, or its checks have not run'
            WHEN x.page_class IS NOT NULL THEN x.reason
            WHEN f.error_class IS NOT NULL OR f.http_status >= 400
                THEN coalesce(f.error_class, 'http ' || f.http_status)
            ELSE NULL
        END AS reason,
        coalesce(a.title, x.title, e.feed_title) AS title,
        coalesce(a.authors, x.authors,
                 CASE WHEN len(e.feed_authors) > 0 THEN e.feed_authors END) AS authors,
        coalesce(a.published_at, x.page_published_at, e.feed_published_at) AS published_at,
        CASE
            WHEN a.article_key IS NOT NULL THEN a.published_source
            WHEN x.page_published_at IS NOT NULL THEN x.page_published_source
            WHEN e.feed_published_at IS NOT NULL THEN 'feed'
        END AS published_source,
        coalesce(a.site_name, x.site_name) AS site_name,
        e.feed_summary,
        coalesce(a.description, x.description) AS description,
        coalesce(a.is_short, false) AS is_short,
        coalesce(a.access, x.access, 'unknown') AS access,
        a.word_count,
        e.first_seen_at,
        f.fetched_at,
        f.http_status,
        f.page_fetch_id
    FROM entries AS e
    LEFT JOIN fetches AS f ON f.url_key = e.link_key
    LEFT JOIN extractions AS x ON x.url_key = e.link_key
    -- the articles of these items only: joined whole, the articles were the build side of
    -- the hash join, so a few items (publish reads a day's) cost a hash table of every article
    LEFT JOIN (SELECT * FROM analytics.articles
               WHERE article_key IN (SELECT article_key FROM extractions)) AS a
        ON a.article_key = x.article_key
    -- c is read only where a is NULL (the CASEs test a first); a condition on a in this ON
    -- clause made DuckDB join c by a nested loop (every item times every article)
    LEFT JOIN (SELECT article_key FROM core.articles
               WHERE article_key IN (SELECT article_key FROM extractions)) AS c
        ON c.article_key = x.article_key
    LEFT JOIN feeds AS fd ON fd.feed_id = e.feed_id
)
SELECT * FROM joined;
