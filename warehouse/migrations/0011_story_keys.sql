-- Issue 13 (stories at native speed): the keys that find an article's story candidates, written
-- when the article is signed, so that a new article is compared with the articles that share a
-- key with it (joined in DuckDB) instead of with its whole time window rebuilt into an index.
-- All are projections of core.story_signatures (rebuilt with it); bands and names carry its
-- event_at (and outlet) so that the time window and the outlet rule filter the join without
-- reading the signatures.

-- One row per LSH band of an article with text: two articles are near-duplicate candidates when
-- one band's bucket (that band's MinHash values) is the same in both.
CREATE TABLE core.story_bands (
    article_key   VARCHAR NOT NULL,
    event_at      TIMESTAMPTZ NOT NULL,
    band          SMALLINT NOT NULL,     -- 0 .. bands-1
    bucket        UBIGINT[] NOT NULL     -- the band's MinHash values (rows per band)
);

-- One row per name or number of an article (its '&' tokens in core.story_signatures.lead_tokens):
-- same-event candidates share names.
CREATE TABLE core.story_names (
    article_key   VARCHAR NOT NULL,
    event_at      TIMESTAMPTZ NOT NULL,
    outlet        VARCHAR,
    name          VARCHAR NOT NULL
);

-- One row per lead keyword of an article (its '#word=weight' tokens): a pair sharing one name
-- fewer than enough is judged only when its leads share enough of these.
CREATE TABLE core.story_lead_words (
    article_key   VARCHAR NOT NULL,
    word          VARCHAR NOT NULL
);

-- The articles signed before this migration: their keys, from their stored signatures (the
-- default options' 25 bands of 5 rows over 128 values, the keys transforms.stories gives).
INSERT INTO core.story_bands
SELECT s.article_key, s.event_at, b.band::SMALLINT,
       list_slice(s.minhash, b.band * 5 + 1, b.band * 5 + 5)
FROM core.story_signatures AS s
CROSS JOIN (SELECT range AS band FROM range(25)) AS b
WHERE s.shingles > 0 AND len(s.minhash) >= 125;

INSERT INTO core.story_names
SELECT DISTINCT s.article_key, s.event_at, s.outlet, substr(t.token, 2)
FROM core.story_signatures AS s, unnest(s.lead_tokens) AS t(token)
WHERE starts_with(t.token, '&');

INSERT INTO core.story_lead_words
SELECT DISTINCT s.article_key,
       substr(left(t.token, length(t.token) - strpos(reverse(t.token), '=')), 2)
FROM core.story_signatures AS s, unnest(s.lead_tokens) AS t(token)
WHERE starts_with(t.token, '#');
