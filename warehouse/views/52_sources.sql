-- analytics.sources: one row per feed with its outlet, health and output, plus outlet totals.
-- "Silent" is judged against the store's own latest fetch, never the wall clock, so the same
-- data always gives the same answer.
CREATE OR REPLACE VIEW analytics.sources AS
WITH feeds AS (
    SELECT * FROM staging.feeds
),
entries AS (
    SELECT * FROM staging.feed_entries
),
articles AS (
    SELECT
        feed_id,
        count(*) AS articles,
        min(event_at) AS first_article_at,
        max(event_at) AS last_article_at
    FROM staging.articles
    GROUP BY feed_id
),
latest AS (
    SELECT max(occurred_at) AS as_of FROM raw.feed_fetches
),
joined AS (
    SELECT
        f.outlet,
        f.feed_id,
        f.feed,
        f.url,
        f.status,
        f.why,
        f.consecutive_failures,
        f.last_success_at,
        coalesce(e.entries, 0) AS entries,
        e.last_entry_at,
        coalesce(a.articles, 0) AS articles,
        a.first_article_at,
        a.last_article_at,
        l.as_of
    FROM feeds AS f
    LEFT JOIN entries AS e USING (feed_id)
    LEFT JOIN articles AS a USING (feed_id)
    CROSS JOIN latest AS l
),
final AS (
    SELECT
        outlet,
        feed_id,
        feed,
        url,
        status,
        why,
        consecutive_failures,
        last_success_at,
        entries,
        last_entry_at,
        articles,
        first_article_at,
        last_article_at,
        round(date_diff('second', last_entry_at, as_of) / 86400.0, 2) AS days_since_new_entry,
        as_of,
        count(*) OVER (PARTITION BY outlet) AS outlet_feeds,
        sum(articles) OVER (PARTITION BY outlet) AS outlet_articles
    FROM joined
)
SELECT * FROM final;
