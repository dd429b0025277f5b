-- Changes of articles about to be re-projected: derived again from their versions.
DELETE FROM core.article_changes WHERE list_contains($keys, article_key)
