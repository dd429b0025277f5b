-- What each page became under earlier extractor versions (the last version last).
SELECT DISTINCT x.page_fetch_id, x.extractor_version, x.page_class, x.content_hash, v.word_count
FROM core.page_extractions AS x
LEFT JOIN core.article_versions AS v
  ON v.article_key = x.article_key AND v.content_hash = x.content_hash
 AND v.extractor_version = x.extractor_version
WHERE list_contains($ids, x.page_fetch_id) AND x.extractor_version <> $version
ORDER BY x.page_fetch_id, x.extractor_version
