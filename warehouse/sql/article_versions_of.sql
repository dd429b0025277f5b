-- All stored versions of the article keys in _batch_keys, oldest first.
SELECT v.*
FROM core.article_versions AS v
SEMI JOIN _batch_keys AS k USING (article_key)
ORDER BY v.article_key, v.observed_at, v.content_hash, v.extractor_version
