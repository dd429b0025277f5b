-- What publish compares per UTC day (of the article's first_seen_at) of core.search_terms in the
-- copy, without reading the terms (dozens of rows per article): warehouse/sql/search_index.sql
-- (and search.rebuild_index) delete and insert an article's terms together with its one
-- core.search_docs row, so that row's rowid and indexed hash name the version of its terms
-- (tests/warehouse/test_publish_changes.py holds the writers to it). The row count is left NULL:
-- publish takes it from the file it writes, or from the manifest for a day it links.
SELECT
    coalesce(timezone('UTC', a.first_seen_at)::DATE, DATE '1970-01-01') AS _day,
    NULL::BIGINT AS n,
    sum(hash(d.rowid, d.article_key, d.indexed_hash)::HUGEINT)::VARCHAR AS token
FROM core.search_docs AS d
LEFT JOIN core.articles AS a USING (article_key)
GROUP BY _day
