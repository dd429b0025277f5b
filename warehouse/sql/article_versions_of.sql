-- All stored versions of the article keys in _batch_keys, oldest first (rowids first, then the
-- rows: see batch_articles.sql).
WITH hits AS (
    SELECT rowid AS r FROM core.article_versions SEMI JOIN _batch_keys USING (article_key)
)
SELECT v.*
FROM core.article_versions AS v
SEMI JOIN hits ON v.rowid = hits.r
ORDER BY v.article_key, v.observed_at, v.content_hash, v.extractor_version
