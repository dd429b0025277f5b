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
-- DuckDB cannot alter a table and then update it in one transaction, so raw.page_fetches is made
-- again without the body column, with its rows (as migration 0010 did for article versions).
CREATE TABLE raw.page_bodies (
    body_sha256     VARCHAR NOT NULL,      -- sha256 of the body as received (decoded transfer)
    body            BLOB NOT NULL          -- zstd-compressed (warehouse.events.compress)
);

INSERT INTO raw.page_bodies (body_sha256, body)
SELECT body_sha256, any_value(body)
FROM raw.page_fetches
WHERE body IS NOT NULL AND body_sha256 IS NOT NULL
GROUP BY body_sha256;

CREATE TABLE raw.page_fetches_next (
    event_id        VARCHAR PRIMARY KEY,
    run_id          VARCHAR NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    schema_version  INTEGER NOT NULL,
    url             VARCHAR NOT NULL,      -- requested URL
    url_key         VARCHAR NOT NULL,      -- canonical key of the requested URL
    source          VARCHAR NOT NULL,      -- feed | sitemap | warc | archive-feed
    attempt         INTEGER NOT NULL,
    final_url       VARCHAR,
    redirect_chain  VARCHAR[],
    status          INTEGER,
    error_class     VARCHAR,
    error_detail    VARCHAR,
    headers         JSON,
    content_type    VARCHAR,
    charset         VARCHAR,
    body_sha256     VARCHAR,               -- the body, if kept, is raw.page_bodies' row of this hash
    body_bytes      BIGINT,
    elapsed_ms      INTEGER NOT NULL,
    retry_after_s   DOUBLE,
    revisit         VARCHAR,
    has_body        BOOLEAN                -- this attempt kept its body (in raw.page_bodies)
);

INSERT INTO raw.page_fetches_next BY NAME
SELECT * EXCLUDE (body), body IS NOT NULL AND body_sha256 IS NOT NULL AS has_body
FROM raw.page_fetches;
DROP TABLE raw.page_fetches;
ALTER TABLE raw.page_fetches_next RENAME TO page_fetches;
