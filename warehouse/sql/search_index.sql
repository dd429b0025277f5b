-- Bring the search index up to date for the article keys in the temp table _search_keys.
-- Only keys whose title or text changed since they were indexed are touched, and only those that
-- were indexed before are deleted first, so a batch of new articles costs appends only.
CREATE OR REPLACE TEMP TABLE _search_todo AS
WITH keys AS (
    SELECT DISTINCT article_key FROM _search_keys
),
hits AS (  -- rowids first, then the rows with their text (see batch_articles.sql)
    SELECT rowid AS r FROM core.articles SEMI JOIN keys USING (article_key)
),
current AS (
    SELECT
        a.article_key,
        a.title,
        a.text,
        md5(coalesce(a.title, '') || chr(31) || a.content_hash) AS indexed_hash
    FROM core.articles AS a
    SEMI JOIN hits ON a.rowid = hits.r
),
indexed AS (
    SELECT d.article_key, d.indexed_hash
    FROM core.search_docs AS d
    SEMI JOIN keys USING (article_key)
)
SELECT
    k.article_key,
    c.title,
    c.text,
    c.indexed_hash,
    i.article_key IS NOT NULL AS was_indexed,
    c.article_key IS NULL AS gone
FROM keys AS k
LEFT JOIN current AS c USING (article_key)
LEFT JOIN indexed AS i USING (article_key)
WHERE c.indexed_hash IS DISTINCT FROM i.indexed_hash;

DELETE FROM core.search_terms
WHERE article_key IN (SELECT article_key FROM _search_todo WHERE was_indexed);

DELETE FROM core.search_docs
WHERE article_key IN (SELECT article_key FROM _search_todo WHERE was_indexed);

CREATE OR REPLACE TEMP TABLE _search_tokens AS
SELECT
    article_key,
    indexed_hash,
    core.search_tokens(title) AS title_terms,
    core.search_tokens(text) AS text_terms
FROM _search_todo
WHERE NOT gone;

INSERT INTO core.search_terms (article_key, field, term, tf)
SELECT article_key, field, term, count(*)::INTEGER AS tf
FROM (
    SELECT article_key, 'title' AS field, unnest(title_terms) AS term FROM _search_tokens
    UNION ALL
    SELECT article_key, 'text' AS field, unnest(text_terms) AS term FROM _search_tokens
)
GROUP BY ALL;

INSERT INTO core.search_docs (article_key, indexed_hash, title_len, text_len)
SELECT article_key, indexed_hash, len(title_terms)::INTEGER, len(text_terms)::INTEGER
FROM _search_tokens;
