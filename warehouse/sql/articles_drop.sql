-- Articles about to be re-projected (keys whose versions all went away lose their row too):
-- the keys of the batch are in the temp table _batch_keys (projections.load_keys).
DELETE FROM core.articles WHERE article_key IN (SELECT article_key FROM _batch_keys)
