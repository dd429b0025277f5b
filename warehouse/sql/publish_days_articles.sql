-- What publish compares per UTC day (and part of a day: the temp macros _publish_day and
-- _publish_part, warehouse/publish.py) of analytics.articles instead of hashing its rows: the rows
-- the view shows that day and a token of which row versions they are (the temp table
-- _publish_articles, publish_article_rows.sql: which articles the view shows and which version of
-- each row); the text is never read.
SELECT
    _publish_day(a.first_seen_at) AS _day,
    _publish_part(a.first_seen_at) AS _part,
    count(*) AS n,
    sum(a.article_row::HUGEINT)::VARCHAR AS token
FROM _publish_articles AS a
WHERE a.shown
GROUP BY _day, _part
