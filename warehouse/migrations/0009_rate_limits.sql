-- Issue 12 (part B): the real web's rules.
-- raw.page_fetches.retry_after_s: the delay a 429/503 asked for (capped), so the next run knows
-- when a page, and its host, may be asked again. Older rows never recorded one: NULL.
ALTER TABLE raw.page_fetches ADD COLUMN retry_after_s DOUBLE;
-- raw.feed_fetches.entry_identity: 'link' when this fetch keyed its entries by link because the
-- feed's GUIDs changed while its links stayed (NULL: the feed's own keys, GUID first).
ALTER TABLE raw.feed_fetches ADD COLUMN entry_identity VARCHAR;
-- core.feeds: poll_minutes from the feed list; why its validators are not trusted (NULL:
-- trusted); how its entries are keyed ('guid' or 'link').
-- (No column DEFAULT: DuckLake cannot add a column with one; existing rows are set below.)
ALTER TABLE core.feeds ADD COLUMN poll_minutes INTEGER;
ALTER TABLE core.feeds ADD COLUMN untrusted_why VARCHAR;
ALTER TABLE core.feeds ADD COLUMN entry_identity VARCHAR;
UPDATE core.feeds SET entry_identity = 'guid';
-- core.page_retries: pages whose fetch has not succeeded yet, projected from raw.page_fetches:
-- rate-limited runs (never counted as failures), transient failures, when the page may be asked
-- again, and the give-up with its reason.
CREATE TABLE core.page_retries (
    url_key          VARCHAR PRIMARY KEY,
    url              VARCHAR NOT NULL,
    host             VARCHAR,
    rate_limited     INTEGER NOT NULL,
    failures         INTEGER NOT NULL,
    first_failed_at  TIMESTAMPTZ,
    last_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error_class VARCHAR,
    next_try_at      TIMESTAMPTZ,
    gave_up_at       TIMESTAMPTZ,
    reason           VARCHAR
);
