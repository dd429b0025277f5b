-- All stored versions of the given article keys, oldest first.
SELECT *
FROM core.article_versions
WHERE list_contains($keys, article_key)
ORDER BY article_key, observed_at, content_hash, extractor_version
