-- analytics.stories: clusters of articles on one story across outlets (near-duplicates,
-- syndicated wire copies, same-event reports), with who published first and for how long the
-- story ran. analytics.story_articles: their members, in publication order.
CREATE OR REPLACE VIEW analytics.story_articles AS
WITH members AS (
    SELECT * FROM staging.story_articles
),
articles AS (
    SELECT article_key, title, url FROM staging.articles
),
final AS (
    SELECT
        m.story_id,
        m.position,
        m.article_key,
        m.outlet,
        m.published_at,
        a.title,
        a.url,
        m.link_kind,
        m.similarity,
        m.is_syndicated,
        m.syndicated_from,
        round(date_diff('second', first_value(m.published_at) OVER w, m.published_at) / 3600.0, 2)
            AS hours_after_first
    FROM members AS m
    JOIN articles AS a USING (article_key)
    WINDOW w AS (PARTITION BY m.story_id ORDER BY m.position)
)
SELECT * FROM final;

CREATE OR REPLACE VIEW analytics.stories AS
WITH stories AS (
    SELECT * FROM core.stories
),
members AS (
    SELECT
        story_id,
        count(*) AS articles,
        count(DISTINCT outlet) AS outlets,
        list(DISTINCT outlet ORDER BY outlet) AS outlet_list,
        count(*) FILTER (WHERE is_syndicated) AS syndicated_copies,
        count(*) FILTER (WHERE link_kind = 'same_event') AS own_reports
    FROM staging.story_articles
    GROUP BY story_id
),
final AS (
    SELECT
        s.story_id,
        s.title,
        s.first_outlet,
        s.first_article_key,
        s.first_published_at,
        s.last_published_at,
        round(date_diff('second', s.first_published_at, s.last_published_at) / 3600.0, 2)
            AS duration_hours,
        m.articles,
        m.outlets,
        m.outlet_list,
        m.syndicated_copies,
        m.own_reports
    FROM stories AS s
    JOIN members AS m USING (story_id)
    WHERE m.articles > 1
)
SELECT * FROM final;
