-- What publish compares per UTC day (of the article's first_seen_at) of core.search_docs in the
-- copy (see publish_days_articles.sql): the rows and a token of which row versions they are.
SELECT
    _publish_day(a.first_seen_at) AS _day,
    _publish_part(a.first_seen_at) AS _part,
    count(*) AS n,
    sum(hash(s.rowid, s.article_key, s.indexed_hash)::HUGEINT)::VARCHAR AS token
FROM core.search_docs AS s
LEFT JOIN core.articles AS a USING (article_key)
GROUP BY _day, _part
