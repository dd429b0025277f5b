-- Stories: which of the keys in _story_keys need signing again (new; title, text, date, outlet or
-- language changed; or signed by another version of transforms.stories.sign, $version) and
-- which vanished from core.articles. One row per such key.
WITH keys AS (
    SELECT DISTINCT article_key FROM _story_keys
),
hits AS (  -- rowids first, then the rows (see batch_articles.sql)
    SELECT rowid AS r FROM core.articles SEMI JOIN keys USING (article_key)
),
current AS (
    SELECT
        a.article_key,
        a.outlet,
        coalesce(a.published_at, a.first_seen_at) AS event_at,
        a.title,
        a.text,
        a.language,
        $version || ':' || md5(concat_ws(chr(31), a.content_hash, coalesce(a.title, ''),
            coalesce(a.outlet, ''), coalesce(a.published_at, a.first_seen_at)::VARCHAR,
            coalesce(a.language, ''))) AS signed_hash
    FROM core.articles AS a
    SEMI JOIN hits ON a.rowid = hits.r
),
signed AS (
    SELECT s.article_key, s.signed_hash
    FROM core.story_signatures AS s
    SEMI JOIN keys USING (article_key)
)
SELECT
    k.article_key,
    c.outlet,
    c.event_at,
    c.title,
    c.text,
    c.language,
    c.signed_hash,
    c.article_key IS NULL AS gone,
    s.article_key IS NOT NULL AS was_signed
FROM keys AS k
LEFT JOIN current AS c USING (article_key)
LEFT JOIN signed AS s USING (article_key)
WHERE c.signed_hash IS DISTINCT FROM s.signed_hash
ORDER BY k.article_key;
