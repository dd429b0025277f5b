-- Changes of articles about to be re-projected (keys in _batch_keys): derived again from their
-- versions.
DELETE FROM core.article_changes WHERE article_key IN (SELECT article_key FROM _batch_keys)
