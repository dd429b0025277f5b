-- analytics.stories: clusters of articles on one story across outlets (near-duplicates,
-- syndicated wire copies, same-event reports), with who published first and for how long the
-- story ran, and a headline to read it by. analytics.story_articles: their members, in
-- publication order.
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
        origin.outlet AS syndicated_from_outlet,
        round(date_diff('second', first_value(m.published_at) OVER w, m.published_at) / 3600.0, 2)
            AS hours_after_first
    FROM members AS m
    JOIN articles AS a USING (article_key)
    LEFT JOIN members AS origin ON origin.article_key = m.syndicated_from
    WINDOW w AS (PARTITION BY m.story_id ORDER BY m.position)
)
SELECT * FROM final;

CREATE OR REPLACE VIEW analytics.stories AS
WITH stories AS (
    SELECT * FROM core.stories
),
-- Each member's links to the other members of its story: the most linked member (the summed
-- link scores break ties, then the earlier position) is the story's most central article.
edge_ends AS (
    SELECT article_a AS article_key, article_b AS other_key, score FROM core.story_edges
    UNION ALL
    SELECT article_b AS article_key, article_a AS other_key, score FROM core.story_edges
),
member_links AS (
    SELECT sa.story_id, sa.article_key, sa.position, count(*) AS links, sum(e.score) AS weight
    FROM staging.story_articles AS sa
    JOIN edge_ends AS e USING (article_key)
    JOIN staging.story_articles AS other
        ON other.article_key = e.other_key AND other.story_id = sa.story_id
    GROUP BY ALL
),
central AS (
    SELECT ml.story_id, arg_max(a.title, (ml.links, ml.weight, -ml.position)) AS headline
    FROM member_links AS ml
    JOIN staging.articles AS a USING (article_key)
    WHERE a.title IS NOT NULL
    GROUP BY ml.story_id
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
        coalesce(c.headline, s.title) AS headline,
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
    LEFT JOIN central AS c USING (story_id)
    WHERE m.articles > 1
)
SELECT * FROM final;

-- Documented here rather than in 59_comments.sql, beside the column it describes.
COMMENT ON COLUMN analytics.stories.headline IS 'Headline to read the story by: the title of its most central article (the one linked to most other members, the strongest links breaking ties, then the earliest), else of the earliest.';
COMMENT ON COLUMN analytics.story_articles.syndicated_from_outlet IS 'The outlet that published the earliest copy (syndicated_from) of that wire story: where the copy came from (NULL unless is_syndicated).';
