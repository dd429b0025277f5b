-- Issue 12 (revisits, versions and diffs).
--
-- raw.page_fetches.revisit: why an article page we already had was asked again ('schedule':
-- the decaying revisit schedule; 'feed_changed': its feed entry got a new version). NULL on a
-- first fetch (every row written before this migration is one). A revisit answered 304 keeps
-- no body; one answered 200 with the body hash of the page's previous body keeps its hash and
-- size but not the body again (the earlier row with that hash holds it).
ALTER TABLE raw.page_fetches ADD COLUMN revisit VARCHAR;

-- core.article_versions gains version_hash: a version is a distinct (text, headline, authors),
-- so a corrected headline over the same text is a version too. The key moves from content_hash
-- (the text alone) to version_hash; DuckDB cannot change a key in place, so the table is made
-- again with its rows. version_hash = sha256(content_hash, title, authors joined), the same
-- formula transforms.revisits.version_hash computes for new rows.
CREATE TABLE core.article_versions_next (
    article_key        VARCHAR NOT NULL,
    content_hash       VARCHAR NOT NULL,
    extractor_version  VARCHAR NOT NULL,
    page_fetch_id      VARCHAR NOT NULL,
    observed_at        TIMESTAMPTZ NOT NULL,
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
    is_short           BOOLEAN,
    access             VARCHAR,
    version_hash       VARCHAR NOT NULL,
    PRIMARY KEY (article_key, version_hash, extractor_version)
);
INSERT INTO core.article_versions_next BY NAME
SELECT *, sha256(concat_ws(chr(31), content_hash, coalesce(title, ''),
                           coalesce(array_to_string(authors, chr(30)), ''))) AS version_hash
FROM core.article_versions;
DROP TABLE core.article_versions;
ALTER TABLE core.article_versions_next RENAME TO article_versions;

-- One row per change between two consecutive versions of an article (same extractor version),
-- derived from core.article_versions by transforms.revisits.changes: what changed, words added
-- and removed, and the changed sentences of the body.
CREATE TABLE core.article_changes (
    article_key        VARCHAR NOT NULL,
    version_hash       VARCHAR NOT NULL,   -- the version after the change
    extractor_version  VARCHAR NOT NULL,
    previous_hash      VARCHAR NOT NULL,   -- version_hash of the version before it
    page_fetch_id      VARCHAR NOT NULL,   -- the fetch that saw the new version
    seen_at            TIMESTAMPTZ NOT NULL,
    previous_seen_at   TIMESTAMPTZ NOT NULL,
    changed            VARCHAR[] NOT NULL, -- of: title, body, dates, authors
    title_before       VARCHAR,
    title_after        VARCHAR,
    words_added        INTEGER NOT NULL,
    words_removed      INTEGER NOT NULL,
    diff               VARCHAR NOT NULL,
    PRIMARY KEY (article_key, version_hash, extractor_version)
);
