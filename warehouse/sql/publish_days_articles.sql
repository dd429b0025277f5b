-- What publish compares per UTC day of analytics.articles instead of hashing its rows: the rows
-- the view shows that day and a token of which row versions they are. Core tables change by
-- delete + insert (never UPDATE), so a rowid names one version of a row; the key, content hash,
-- fetch and extractor guard against a rowid a checkpoint reclaimed and a later insert reused.
-- Reads only these narrow columns, never the text. Keep the filters those of 20_articles.sql.
WITH quarantined AS (
    SELECT DISTINCT event_id AS article_key
    FROM quality.quarantine
    WHERE table_name = 'core.articles'
),
unchecked AS (
    SELECT DISTINCT unnest(keys) AS article_key
    FROM quality.pending_checks
    WHERE table_name = 'core.articles'
)
SELECT
    coalesce(timezone('UTC', a.first_seen_at)::DATE, DATE '1970-01-01') AS _day,
    count(*) AS n,
    sum(hash(a.rowid, a.article_key, a.content_hash, a.page_fetch_id,
             a.extractor_version)::HUGEINT)::VARCHAR AS token
FROM core.articles AS a
WHERE a.article_key NOT IN (SELECT article_key FROM quarantined)
  AND a.article_key NOT IN (SELECT article_key FROM unchecked)
GROUP BY _day
