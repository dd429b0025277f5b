-- newsflow store, first version: raw events, core projections, quality results.
-- raw.* is append-only: rows are never updated or deleted. Every raw row carries the envelope
-- (event_id, occurred_at, recorded_at, run_id, schema_version). event_id is a deterministic hash of
-- the event's identity and content, so writing the same batch twice adds nothing.

CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS quality;
CREATE SCHEMA IF NOT EXISTS analytics;

-- The run ledger: a 'running' row when a stage starts and a final row in the same transaction as
-- the stage's batch. A stage with only its 'running' row died mid-way (shown as 'incomplete').
CREATE TABLE raw.runs (
    event_id        VARCHAR PRIMARY KEY,
    run_id          VARCHAR NOT NULL,
    flow            VARCHAR NOT NULL,
    stage           VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,   -- running | ok | partial | failed | validation_failed | skipped_locked
    parameters      JSON,
    counts          JSON,
    versions        JSON,
    message         VARCHAR,
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    schema_version  INTEGER NOT NULL
);

-- One row per HTTP attempt for a feed, success or not, with the parse outcome of its body.
CREATE TABLE raw.feed_fetches (
    event_id        VARCHAR PRIMARY KEY,
    run_id          VARCHAR NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    schema_version  INTEGER NOT NULL,
    feed_id         VARCHAR NOT NULL,
    url             VARCHAR NOT NULL,
    attempt         INTEGER NOT NULL,
    final_url       VARCHAR,
    redirect_chain  VARCHAR[],
    status          INTEGER,
    error_class     VARCHAR,
    error_detail    VARCHAR,
    not_modified    BOOLEAN NOT NULL,
    etag            VARCHAR,
    last_modified   VARCHAR,
    retry_after_s   DOUBLE,
    headers         JSON,
    content_type    VARCHAR,
    body            BLOB,              -- zstd-compressed response body (decompressed bytes hashed)
    body_sha256     VARCHAR,
    body_bytes      BIGINT,
    elapsed_ms      INTEGER NOT NULL,
    parse_outcome   VARCHAR,           -- FeedOutcome, NULL when there was no body to parse
    parse_reason    VARCHAR,
    feed_version    VARCHAR,
    bozo            BOOLEAN,
    entry_count     INTEGER,
    feed_title      VARCHAR,
    ttl_minutes     INTEGER
);

-- One row per new version of a feed entry (a version = a distinct content hash).
CREATE TABLE raw.feed_entries (
    event_id        VARCHAR PRIMARY KEY,   -- hash(feed_id, entry_key, content_hash)
    run_id          VARCHAR NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,  -- the fetch's response time
    recorded_at     TIMESTAMPTZ NOT NULL,
    schema_version  INTEGER NOT NULL,
    fetch_event_id  VARCHAR NOT NULL,
    feed_id         VARCHAR NOT NULL,
    entry_key       VARCHAR NOT NULL,
    key_source      VARCHAR NOT NULL,
    content_hash    VARCHAR NOT NULL,
    parse_quality   VARCHAR NOT NULL,      -- ok | bozo
    guid            VARCHAR,
    link            VARCHAR,
    link_key        VARCHAR,               -- canonical article key of link (joins page fetches)
    link_status     VARCHAR NOT NULL,
    raw_link        VARCHAR,
    title           VARCHAR,
    summary         VARCHAR,
    content         VARCHAR,
    authors         VARCHAR[],
    tags            VARCHAR[],
    published_raw   VARCHAR,
    published_at    TIMESTAMPTZ,
    updated_raw     VARCHAR,
    updated_at      TIMESTAMPTZ,
    date_suspect    BOOLEAN NOT NULL,
    truncated       BOOLEAN NOT NULL,
    position        INTEGER NOT NULL
);

-- One row per HTTP attempt for an article URL.
CREATE TABLE raw.page_fetches (
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
    body            BLOB,
    body_sha256     VARCHAR,
    body_bytes      BIGINT,
    elapsed_ms      INTEGER NOT NULL
);

-- core.*: projections, derived from raw only.
CREATE TABLE core.feeds (
    feed_id              VARCHAR PRIMARY KEY,
    url                  VARCHAR NOT NULL,
    name                 VARCHAR,
    outlet               VARCHAR,
    title                VARCHAR,
    feed_version         VARCHAR,
    etag                 VARCHAR,
    last_modified        VARCHAR,
    last_attempt_at      TIMESTAMPTZ,
    last_success_at      TIMESTAMPTZ,
    last_error_class     VARCHAR,
    consecutive_failures INTEGER NOT NULL,
    entries_seen         BIGINT NOT NULL,
    status               VARCHAR NOT NULL,
    next_poll_at         TIMESTAMPTZ,
    why                  VARCHAR
);

-- One row per projected page fetch: what extraction made of it (article or a page class).
CREATE TABLE core.page_extractions (
    page_fetch_id      VARCHAR PRIMARY KEY,
    article_key        VARCHAR NOT NULL,
    page_class         VARCHAR NOT NULL,
    reason             VARCHAR,
    content_hash       VARCHAR,
    extractor          VARCHAR NOT NULL,
    extractor_version  VARCHAR NOT NULL,
    occurred_at        TIMESTAMPTZ NOT NULL
);

-- Every distinct extracted version of an article.
CREATE TABLE core.article_versions (
    article_key        VARCHAR NOT NULL,
    content_hash       VARCHAR NOT NULL,
    extractor_version  VARCHAR NOT NULL,
    page_fetch_id      VARCHAR NOT NULL,
    observed_at        TIMESTAMPTZ NOT NULL,  -- occurred_at of the page fetch
    url                VARCHAR NOT NULL,
    final_url          VARCHAR,
    canonical_url      VARCHAR,
    title              VARCHAR,
    authors            VARCHAR[],
    page_published_at  TIMESTAMPTZ,
    page_published_source VARCHAR,
    modified_at        TIMESTAMPTZ,
    language           VARCHAR,
    declared_language  VARCHAR,
    site_name          VARCHAR,
    description        VARCHAR,
    image              VARCHAR,
    tags               VARCHAR[],
    text               VARCHAR NOT NULL,
    word_count         INTEGER NOT NULL,
    extractor          VARCHAR NOT NULL,
    PRIMARY KEY (article_key, content_hash, extractor_version)
);

-- One row per article (canonical URL key): its latest version plus identity and dates.
CREATE TABLE core.articles (
    article_key        VARCHAR PRIMARY KEY,
    url                VARCHAR NOT NULL,
    canonical_url      VARCHAR,
    feed_id            VARCHAR,
    outlet             VARCHAR,
    title              VARCHAR,
    authors            VARCHAR[],
    published_at       TIMESTAMPTZ,
    published_source   VARCHAR NOT NULL,
    date_suspect       BOOLEAN NOT NULL,
    feed_page_date_disagree BOOLEAN NOT NULL,
    modified_at        TIMESTAMPTZ,
    language           VARCHAR,
    declared_language  VARCHAR,
    site_name          VARCHAR,
    description        VARCHAR,
    image              VARCHAR,
    tags               VARCHAR[],
    text               VARCHAR NOT NULL,
    word_count         INTEGER NOT NULL,
    content_hash       VARCHAR NOT NULL,
    extractor          VARCHAR NOT NULL,
    extractor_version  VARCHAR NOT NULL,
    page_fetch_id      VARCHAR NOT NULL,
    first_seen_at      TIMESTAMPTZ NOT NULL,
    last_seen_at       TIMESTAMPTZ NOT NULL,
    version_count      INTEGER NOT NULL
);

-- Which feed entries point at which article.
CREATE TABLE core.article_feeds (
    article_key    VARCHAR NOT NULL,
    feed_id        VARCHAR NOT NULL,
    entry_key      VARCHAR NOT NULL,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_key, feed_id, entry_key)
);

-- quality.*: check results and quarantined raw events (raw rows are never deleted).
CREATE TABLE quality.validations (
    run_id             VARCHAR NOT NULL,
    stage              VARCHAR NOT NULL,
    table_name         VARCHAR NOT NULL,
    suite              VARCHAR NOT NULL,
    expectation        VARCHAR NOT NULL,
    column_name        VARCHAR,
    success            BOOLEAN NOT NULL,
    blocking           BOOLEAN NOT NULL,
    observed_value     VARCHAR,
    element_count      BIGINT,
    unexpected_count   BIGINT,
    unexpected_sample  JSON,
    why                VARCHAR,
    validated_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE quality.quarantine (
    run_id          VARCHAR NOT NULL,
    stage           VARCHAR NOT NULL,
    table_name      VARCHAR NOT NULL,
    event_id        VARCHAR NOT NULL,
    reason          VARCHAR NOT NULL,
    quarantined_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (table_name, event_id, reason)
);
