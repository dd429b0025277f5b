-- Issue 13 (a cost that does not grow with the store).
--
-- Page bodies move out of raw.page_fetches into raw.page_bodies, one row per distinct body
-- (keyed by its sha256, the hash raw.page_fetches.body_sha256 already holds; deduplicated on
-- insert by warehouse.store, so the table needs no index). Appending a batch of attempts then
-- no longer rewrites or checkpoints a table of bodies with a primary-key index: measured at
-- 50,000 stored pages, appending 1,000 and checkpointing grew the writer to 650 MB with bodies
-- in the keyed table, and stayed at 242 MB with them in an unkeyed table of their own.
--
-- raw.page_fetches.has_body says whether the attempt stored its body (false for a 304 and for
-- a revisit whose body hashes as the page's previous one: that row keeps hash and size only).
-- DuckLake cannot add a column with a DEFAULT: added bare, then set on existing rows.
CREATE TABLE raw.page_bodies (
    body_sha256     VARCHAR NOT NULL,      -- sha256 of the body as received (decoded transfer)
    body            BLOB NOT NULL          -- zstd-compressed (warehouse.events.compress)
);

ALTER TABLE raw.page_fetches ADD COLUMN has_body BOOLEAN;

UPDATE raw.page_fetches SET has_body = body IS NOT NULL;

INSERT INTO raw.page_bodies (body_sha256, body)
SELECT body_sha256, any_value(body)
FROM raw.page_fetches
WHERE body IS NOT NULL
GROUP BY body_sha256;

ALTER TABLE raw.page_fetches DROP COLUMN body;
