-- The core.articles a batch touched: its keys are in the temp table _batch_keys
-- (projections.load_keys), joined on the key so the cost follows the batch, not the store.
-- Two steps: the rowids of those rows (a scan of the key column only), then the rows by rowid,
-- whose range DuckDB pushes into the scan, so that only the vectors holding them are read (a
-- semi join on the key alone reads every column, the text too, of every row).
WITH hits AS (
    SELECT rowid AS r FROM core.articles SEMI JOIN _batch_keys USING (article_key)
)
SELECT a.* FROM core.articles AS a SEMI JOIN hits ON a.rowid = hits.r
