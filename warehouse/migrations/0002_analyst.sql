-- The analyst's surface: an incremental full-text index and stories clustered across outlets.
-- Both are projections of core.articles, maintained for the article keys each extraction batch
-- touches (delete + insert per key), so their upkeep costs what the new articles cost, not what
-- the store holds.

CREATE SCHEMA IF NOT EXISTS staging;

-- Search: one row per indexed article, with the field lengths BM25 normalises by. indexed_hash
-- covers title and text, so an article is re-indexed only when either changed.
CREATE TABLE core.search_docs (
    article_key   VARCHAR PRIMARY KEY,
    indexed_hash  VARCHAR NOT NULL,
    title_len     INTEGER NOT NULL,
    text_len      INTEGER NOT NULL
);

-- Search: the inverted index, one row per article, field and stemmed term, with its frequency.
-- No primary key on purpose: an ART index would cost on every append and the query side scans
-- only the few query terms.
CREATE TABLE core.search_terms (
    article_key   VARCHAR NOT NULL,
    field         VARCHAR NOT NULL,   -- title | text
    term          VARCHAR NOT NULL,   -- lower-cased, accent-folded, Porter-stemmed
    tf            INTEGER NOT NULL
);

-- Stories: what the clustering needs to know of each article, kept so that a new article is
-- compared with its time window without re-reading or re-shingling the older ones.
CREATE TABLE core.story_signatures (
    article_key   VARCHAR PRIMARY KEY,
    signed_hash   VARCHAR NOT NULL,     -- the title+text hash the signature was computed from
    outlet        VARCHAR,
    event_at      TIMESTAMPTZ NOT NULL, -- published_at, else first_seen_at
    title         VARCHAR,
    minhash       UBIGINT[] NOT NULL,   -- 128 MinHash values of the word 5-shingles
    shingles      INTEGER NOT NULL,
    lead_tokens   VARCHAR[] NOT NULL    -- content words of the title and lead
);

-- Stories: the similarity graph. One row per linked pair (article_a < article_b).
CREATE TABLE core.story_edges (
    article_a     VARCHAR NOT NULL,
    article_b     VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,     -- syndicated | near_duplicate | same_event
    score         DOUBLE NOT NULL,
    PRIMARY KEY (article_a, article_b)
);

-- Stories: clusters of two or more linked articles. story_id is a hash of the earliest member.
CREATE TABLE core.stories (
    story_id            VARCHAR PRIMARY KEY,
    title               VARCHAR,
    first_article_key   VARCHAR NOT NULL,
    first_outlet        VARCHAR,
    first_published_at  TIMESTAMPTZ NOT NULL,
    last_published_at   TIMESTAMPTZ NOT NULL,
    article_count       INTEGER NOT NULL,
    outlet_count        INTEGER NOT NULL,
    outlets             VARCHAR[] NOT NULL,
    syndicated_count    INTEGER NOT NULL
);

CREATE TABLE core.story_articles (
    article_key      VARCHAR PRIMARY KEY,
    story_id         VARCHAR NOT NULL,
    outlet           VARCHAR,
    published_at     TIMESTAMPTZ NOT NULL,
    position         INTEGER NOT NULL,   -- 1 = published first
    similarity       DOUBLE NOT NULL,    -- strongest link to another member
    link_kind        VARCHAR NOT NULL,   -- kind of that link
    is_syndicated    BOOLEAN NOT NULL,   -- a copy of a wire story published earlier elsewhere
    syndicated_from  VARCHAR             -- the earliest copy of that wire story
);
