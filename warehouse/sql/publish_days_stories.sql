-- What publish compares per UTC day (and part of a day: the temp macros of warehouse/publish.py)
-- of analytics.stories, by first_published_at, instead of evaluating the view: the stories it
-- shows (more than one shown member) and a token of every row version a story's row is made of:
-- its core.stories row, its members' rows with their articles' rows (the headline is a member's
-- title) and whether the view shows them (staged: staging.articles, which the view reads), and the
-- links from its members (which member is the most central). The articles' row versions come from
-- the temp table _publish_articles (publish_article_rows.sql); a member whose article is gone is
-- not shown. See publish_days_story_articles.sql.
WITH members AS (
    SELECT
        m.story_id,
        count(*) FILTER (WHERE a.staged) AS visible,
        sum(hash(m.rowid, m.story_id, m.article_key, a.article_row,
                 coalesce(a.staged, false))::HUGEINT) AS members_token
    FROM core.story_articles AS m
    LEFT JOIN _publish_articles AS a ON a.k = hash(m.article_key)
    GROUP BY m.story_id
),
links AS (  -- a link counts for the headline only between two members of one story, so by
            -- one of its ends
    SELECT sa.story_id, sum(hash(e.rowid, e.article_a, e.article_b, e.kind, e.score)::HUGEINT)
        AS links_token
    FROM core.story_edges AS e
    JOIN core.story_articles AS sa ON sa.article_key = e.article_a
    GROUP BY sa.story_id
)
SELECT
    _publish_day(s.first_published_at) AS _day,
    _publish_part(s.first_published_at) AS _part,
    count(*) FILTER (WHERE coalesce(m.visible, 0) > 1) AS n,
    sum(hash(s.rowid, s.story_id, m.members_token, l.links_token)::HUGEINT)::VARCHAR AS token
FROM core.stories AS s
LEFT JOIN members AS m USING (story_id)
LEFT JOIN links AS l USING (story_id)
GROUP BY _day, _part
HAVING count(*) FILTER (WHERE coalesce(m.visible, 0) > 1) > 0
