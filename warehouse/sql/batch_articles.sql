-- The core.articles a batch touched: its keys are in the temp table _batch_keys
-- (projections.load_keys), joined on the key so the cost follows the batch, not the store.
SELECT a.* FROM core.articles AS a SEMI JOIN _batch_keys AS k USING (article_key)
