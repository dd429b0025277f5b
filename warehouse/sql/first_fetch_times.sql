-- Earliest and latest projected page fetch per article key.
SELECT x.article_key, min(x.occurred_at) AS first_at, max(x.occurred_at) AS last_at
FROM core.page_extractions AS x
WHERE list_contains($keys, x.article_key)
GROUP BY x.article_key
