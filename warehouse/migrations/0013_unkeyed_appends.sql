-- Issue 13 (a cost that does not grow with the store): the tables every run appends to lose
-- their PRIMARY KEY constraints. DuckDB writes a table's whole primary-key index again at every
-- checkpoint that follows a change to it: measured at 30,000 stored articles, a run's final
-- checkpoint cost 2.1 CPU s against 0.27 s on an empty store (0.26 s for raw.page_fetches
-- alone after appending 300 rows, 0.02 s for the same table and rows without the key), and it
-- grows with every row stored.
--
-- The keys stay declared, in main.table_keys: warehouse.store keeps the same write semantics
-- through them (a row whose key is already there is skipped, by an anti-join on the key, as the
-- DuckLake store does), and warehouse.lake reads them as it reads the PRIMARY KEY declarations.
-- Each table is made again without its key, with its rows (as migrations 0010 and 0012 did);
-- columns, types and NOT NULLs are unchanged.
CREATE TABLE main.table_keys (
    table_name   VARCHAR NOT NULL,     -- schema.table
    key_columns  VARCHAR[] NOT NULL    -- the columns that identify a row
);


CREATE TABLE raw.feed_fetches_next (
    event_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    schema_version INTEGER NOT NULL,
    feed_id VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    final_url VARCHAR,
    redirect_chain VARCHAR[],
    status INTEGER,
    error_class VARCHAR,
    error_detail VARCHAR,
    not_modified BOOLEAN NOT NULL,
    etag VARCHAR,
    last_modified VARCHAR,
    retry_after_s DOUBLE,
    headers JSON,
    content_type VARCHAR,
    body BLOB,
    body_sha256 VARCHAR,
    body_bytes BIGINT,
    elapsed_ms INTEGER NOT NULL,
    parse_outcome VARCHAR,
    parse_reason VARCHAR,
    feed_version VARCHAR,
    bozo BOOLEAN,
    entry_count INTEGER,
    feed_title VARCHAR,
    ttl_minutes INTEGER,
    permanent_redirect VARCHAR,
    entries_left_out INTEGER,
    entry_identity VARCHAR
);
INSERT INTO raw.feed_fetches_next SELECT * FROM raw.feed_fetches;
DROP TABLE raw.feed_fetches;
ALTER TABLE raw.feed_fetches_next RENAME TO feed_fetches;

CREATE TABLE raw.feed_entries_next (
    event_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    schema_version INTEGER NOT NULL,
    fetch_event_id VARCHAR NOT NULL,
    feed_id VARCHAR NOT NULL,
    entry_key VARCHAR NOT NULL,
    key_source VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    parse_quality VARCHAR NOT NULL,
    guid VARCHAR,
    link VARCHAR,
    link_key VARCHAR,
    link_status VARCHAR NOT NULL,
    raw_link VARCHAR,
    title VARCHAR,
    summary VARCHAR, "content" VARCHAR,
    authors VARCHAR[],
    tags VARCHAR[],
    published_raw VARCHAR,
    published_at TIMESTAMP WITH TIME ZONE,
    updated_raw VARCHAR,
    updated_at TIMESTAMP WITH TIME ZONE,
    date_suspect BOOLEAN NOT NULL,
    truncated BOOLEAN NOT NULL, "position" INTEGER NOT NULL
);
INSERT INTO raw.feed_entries_next SELECT * FROM raw.feed_entries;
DROP TABLE raw.feed_entries;
ALTER TABLE raw.feed_entries_next RENAME TO feed_entries;

CREATE TABLE raw.page_fetches_next (
    event_id VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    recorded_at TIMESTAMP WITH TIME ZONE NOT NULL,
    schema_version INTEGER NOT NULL,
    url VARCHAR NOT NULL,
    url_key VARCHAR NOT NULL, "source" VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    final_url VARCHAR,
    redirect_chain VARCHAR[],
    status INTEGER,
    error_class VARCHAR,
    error_detail VARCHAR,
    headers JSON,
    content_type VARCHAR,
    charset VARCHAR, body_sha256 VARCHAR,
    body_bytes BIGINT,
    elapsed_ms INTEGER NOT NULL,
    retry_after_s DOUBLE,
    revisit VARCHAR,
    has_body BOOLEAN
);
INSERT INTO raw.page_fetches_next SELECT * FROM raw.page_fetches;
DROP TABLE raw.page_fetches;
ALTER TABLE raw.page_fetches_next RENAME TO page_fetches;

CREATE TABLE core.page_extractions_next (
    page_fetch_id VARCHAR NOT NULL,
    article_key VARCHAR NOT NULL,
    page_class VARCHAR NOT NULL,
    reason VARCHAR,
    content_hash VARCHAR,
    extractor VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    title VARCHAR,
    authors VARCHAR[],
    page_published_at TIMESTAMP WITH TIME ZONE,
    page_published_source VARCHAR,
    site_name VARCHAR,
    description VARCHAR, "access" VARCHAR
);
INSERT INTO core.page_extractions_next SELECT * FROM core.page_extractions;
DROP TABLE core.page_extractions;
ALTER TABLE core.page_extractions_next RENAME TO page_extractions;

CREATE TABLE core.article_versions_next (
    article_key VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    page_fetch_id VARCHAR NOT NULL,
    observed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    url VARCHAR NOT NULL,
    final_url VARCHAR,
    canonical_url VARCHAR,
    title VARCHAR,
    authors VARCHAR[],
    page_published_at TIMESTAMP WITH TIME ZONE,
    page_published_source VARCHAR,
    modified_at TIMESTAMP WITH TIME ZONE, "language" VARCHAR,
    declared_language VARCHAR,
    site_name VARCHAR,
    description VARCHAR,
    image VARCHAR,
    tags VARCHAR[], "text" VARCHAR NOT NULL,
    word_count INTEGER NOT NULL,
    extractor VARCHAR NOT NULL,
    is_short BOOLEAN, "access" VARCHAR,
    version_hash VARCHAR NOT NULL
);
INSERT INTO core.article_versions_next SELECT * FROM core.article_versions;
DROP TABLE core.article_versions;
ALTER TABLE core.article_versions_next RENAME TO article_versions;

CREATE TABLE core.article_changes_next (
    article_key VARCHAR NOT NULL,
    version_hash VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    previous_hash VARCHAR NOT NULL,
    page_fetch_id VARCHAR NOT NULL,
    seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    previous_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    changed VARCHAR[] NOT NULL,
    title_before VARCHAR,
    title_after VARCHAR,
    words_added INTEGER NOT NULL,
    words_removed INTEGER NOT NULL,
    diff VARCHAR NOT NULL
);
INSERT INTO core.article_changes_next SELECT * FROM core.article_changes;
DROP TABLE core.article_changes;
ALTER TABLE core.article_changes_next RENAME TO article_changes;

CREATE TABLE core.articles_next (
    article_key VARCHAR NOT NULL,
    url VARCHAR NOT NULL,
    canonical_url VARCHAR,
    feed_id VARCHAR,
    outlet VARCHAR,
    title VARCHAR,
    authors VARCHAR[],
    published_at TIMESTAMP WITH TIME ZONE,
    published_source VARCHAR NOT NULL,
    date_suspect BOOLEAN NOT NULL,
    feed_page_date_disagree BOOLEAN NOT NULL,
    modified_at TIMESTAMP WITH TIME ZONE, "language" VARCHAR,
    declared_language VARCHAR,
    site_name VARCHAR,
    description VARCHAR,
    image VARCHAR,
    tags VARCHAR[], "text" VARCHAR NOT NULL,
    word_count INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    extractor VARCHAR NOT NULL,
    extractor_version VARCHAR NOT NULL,
    page_fetch_id VARCHAR NOT NULL,
    first_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_seen_at TIMESTAMP WITH TIME ZONE NOT NULL,
    version_count INTEGER NOT NULL,
    is_short BOOLEAN, "access" VARCHAR
);
INSERT INTO core.articles_next SELECT * FROM core.articles;
DROP TABLE core.articles;
ALTER TABLE core.articles_next RENAME TO articles;

CREATE TABLE core.article_feeds_next (
    article_key VARCHAR NOT NULL,
    feed_id VARCHAR NOT NULL,
    entry_key VARCHAR NOT NULL,
    first_seen_at TIMESTAMP WITH TIME ZONE NOT NULL
);
INSERT INTO core.article_feeds_next SELECT * FROM core.article_feeds;
DROP TABLE core.article_feeds;
ALTER TABLE core.article_feeds_next RENAME TO article_feeds;

CREATE TABLE core.search_docs_next (
    article_key VARCHAR NOT NULL,
    indexed_hash VARCHAR NOT NULL,
    title_len INTEGER NOT NULL,
    text_len INTEGER NOT NULL
);
INSERT INTO core.search_docs_next SELECT * FROM core.search_docs;
DROP TABLE core.search_docs;
ALTER TABLE core.search_docs_next RENAME TO search_docs;

CREATE TABLE core.story_signatures_next (
    article_key VARCHAR NOT NULL,
    signed_hash VARCHAR NOT NULL,
    outlet VARCHAR,
    event_at TIMESTAMP WITH TIME ZONE NOT NULL,
    title VARCHAR,
    minhash UBIGINT[] NOT NULL,
    shingles INTEGER NOT NULL,
    lead_tokens VARCHAR[] NOT NULL
);
INSERT INTO core.story_signatures_next SELECT * FROM core.story_signatures;
DROP TABLE core.story_signatures;
ALTER TABLE core.story_signatures_next RENAME TO story_signatures;

CREATE TABLE core.story_edges_next (
    article_a VARCHAR NOT NULL,
    article_b VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    score DOUBLE NOT NULL
);
INSERT INTO core.story_edges_next SELECT * FROM core.story_edges;
DROP TABLE core.story_edges;
ALTER TABLE core.story_edges_next RENAME TO story_edges;

CREATE TABLE core.story_articles_next (
    article_key VARCHAR NOT NULL,
    story_id VARCHAR NOT NULL,
    outlet VARCHAR,
    published_at TIMESTAMP WITH TIME ZONE NOT NULL, "position" INTEGER NOT NULL,
    similarity DOUBLE NOT NULL,
    link_kind VARCHAR NOT NULL,
    is_syndicated BOOLEAN NOT NULL,
    syndicated_from VARCHAR
);
INSERT INTO core.story_articles_next SELECT * FROM core.story_articles;
DROP TABLE core.story_articles;
ALTER TABLE core.story_articles_next RENAME TO story_articles;

CREATE TABLE core.stories_next (
    story_id VARCHAR NOT NULL,
    title VARCHAR,
    first_article_key VARCHAR NOT NULL,
    first_outlet VARCHAR,
    first_published_at TIMESTAMP WITH TIME ZONE NOT NULL,
    last_published_at TIMESTAMP WITH TIME ZONE NOT NULL,
    article_count INTEGER NOT NULL,
    outlet_count INTEGER NOT NULL,
    outlets VARCHAR[] NOT NULL,
    syndicated_count INTEGER NOT NULL
);
INSERT INTO core.stories_next SELECT * FROM core.stories;
DROP TABLE core.stories;
ALTER TABLE core.stories_next RENAME TO stories;

INSERT INTO main.table_keys VALUES
    ('raw.feed_fetches', ['event_id']),
    ('raw.feed_entries', ['event_id']),
    ('raw.page_fetches', ['event_id']),
    ('core.page_extractions', ['page_fetch_id', 'extractor_version']),
    ('core.article_versions', ['article_key', 'version_hash', 'extractor_version']),
    ('core.article_changes', ['article_key', 'version_hash', 'extractor_version']),
    ('core.articles', ['article_key']),
    ('core.article_feeds', ['article_key', 'feed_id', 'entry_key']),
    ('core.search_docs', ['article_key']),
    ('core.story_signatures', ['article_key']),
    ('core.story_edges', ['article_a', 'article_b']),
    ('core.story_articles', ['article_key']),
    ('core.stories', ['story_id']);
