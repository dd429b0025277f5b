-- What publish compares per UTC day (of the article's first_seen_at) of core.search_docs in the
-- copy (see publish_days_articles.sql): the rows and a token of which row versions they are.
SELECT
    coalesce(timezone('UTC', a.first_seen_at)::DATE, DATE '1970-01-01') AS _day,
    count(*) AS n,
    sum(hash(s.rowid, s.article_key, s.indexed_hash)::HUGEINT)::VARCHAR AS token
FROM core.search_docs AS s
LEFT JOIN core.articles AS a USING (article_key)
GROUP BY _day
