-- What publish compares per UTC day (and part of a day: the temp macros of warehouse/publish.py)
-- of analytics.story_articles, by each member's published_at, instead of evaluating the view:
-- the rows it shows and a token of every row version they are made of (never a title or text).
-- A member's row reads its own core.story_articles row, its article's row (title, URL) and, through
-- the window and the syndication origin, the other shown members of its story; so each row's token
-- covers its story's token: every member's row version, article row version and whether the view
-- shows it (staged: staging.articles, not quarantined, checks done). The articles' row versions
-- come from the temp table _publish_articles (publish_article_rows.sql); a member whose article is
-- gone is not shown. Re-linking a story deletes and inserts all its members
-- (warehouse/stories.py), so a changed story changes every day it has members on.
WITH members AS (
    SELECT
        m.story_id,
        m.published_at,
        coalesce(a.staged, false) AS visible,
        hash(m.rowid, m.story_id, m.article_key, a.article_row,
             coalesce(a.staged, false)) AS member_row
    FROM core.story_articles AS m
    LEFT JOIN _publish_articles AS a ON a.k = hash(m.article_key)
),
stories AS (
    SELECT story_id, sum(member_row::HUGEINT) AS story_token
    FROM members
    GROUP BY story_id
)
SELECT
    _publish_day(m.published_at) AS _day,
    _publish_part(m.published_at) AS _part,
    count(*) AS n,
    sum(hash(m.member_row, s.story_token)::HUGEINT)::VARCHAR AS token
FROM members AS m
JOIN stories AS s USING (story_id)
WHERE m.visible
GROUP BY _day, _part
