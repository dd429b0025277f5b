-- What publish compares per UTC day (of the article's first_seen_at) of core.search_docs and of
-- core.search_terms in the copy (see publish_days_articles.sql): the rows of search_docs and a
-- token of which row versions they are. It serves for the terms too, without reading them
-- (dozens of rows per article): warehouse/sql/search_index.sql (and search.rebuild_index) delete
-- and insert an article's terms together with its one core.search_docs row, so that row's rowid
-- and indexed hash name the version of its terms (tests/warehouse/test_publish_changes.py holds
-- the writers to it). The terms' row count is not this count: publish takes it from the file it
-- writes, or from the manifest for a day it links.
SELECT
    _publish_day(a.first_seen_at) AS _day,
    _publish_part(a.first_seen_at) AS _part,
    count(*) AS n,
    sum(hash(s.rowid, s.article_key, s.indexed_hash)::HUGEINT)::VARCHAR AS token
FROM core.search_docs AS s
LEFT JOIN _publish_articles AS a ON a.k = hash(s.article_key)  -- publish_article_rows.sql
GROUP BY _day, _part
