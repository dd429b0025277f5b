-- The stored (compressed) bodies of a batch's body hashes, from raw.page_bodies (rowids first,
-- then the bodies: see batch_articles.sql).
WITH hits AS (
    SELECT rowid AS r FROM raw.page_bodies WHERE body_sha256 IN (SELECT unnest($hashes))
)
SELECT b.body_sha256, any_value(b.body) AS body
FROM raw.page_bodies AS b
SEMI JOIN hits ON b.rowid = hits.r
GROUP BY b.body_sha256
