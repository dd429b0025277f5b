-- Earliest and latest projected page fetch per article key in _batch_keys.
SELECT x.article_key, min(x.occurred_at) AS first_at, max(x.occurred_at) AS last_at
FROM core.page_extractions AS x
SEMI JOIN _batch_keys AS k USING (article_key)
GROUP BY x.article_key
