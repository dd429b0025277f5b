-- What publish compares per UTC day (of the article's first_seen_at) of core.search_terms in the
-- copy, without reading the terms (dozens of rows per article): warehouse/sql/search_index.sql
-- (and search.rebuild_index) delete and insert an article's terms together with its one
-- core.search_docs row, so that row's rowid and indexed hash name the version of its terms
-- (tests/warehouse/test_publish_changes.py holds the writers to it). The row count is left NULL:
-- publish takes it from the file it writes, or from the manifest for a day it links.
SELECT
    _publish_day(a.first_seen_at) AS _day,
    _publish_part(a.first_seen_at) AS _part,
    NULL::BIGINT AS n,
    sum(hash(d.rowid, d.article_key, d.indexed_hash)::HUGEINT)::VARCHAR AS token
FROM core.search_docs AS d
LEFT JOIN core.articles AS a USING (article_key)
GROUP BY _day, _part
