-- The core.articles a batch touched.
SELECT * FROM core.articles WHERE list_contains($keys, article_key)
