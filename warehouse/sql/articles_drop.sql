-- Articles about to be re-projected (keys whose versions all went away lose their row too).
DELETE FROM core.articles WHERE list_contains($keys, article_key)
