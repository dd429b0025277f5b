-- What publish compares per UTC day of analytics.article_versions (see publish_days_articles.sql):
-- a version's row depends on the version itself, on its article's current row (is_current) and on
-- the article's other versions (numbering, what changed), so the token of each row covers all
-- three. Keep the filters those of 51_article_versions.sql.
WITH quarantined AS (
    SELECT DISTINCT event_id AS article_key
    FROM quality.quarantine
    WHERE table_name = 'core.articles'
),
unchecked AS (
    SELECT DISTINCT unnest(keys) AS article_key
    FROM quality.pending_checks
    WHERE table_name = 'core.articles'
),
visible AS (
    SELECT
        article_key,
        hash(rowid, article_key, content_hash, page_fetch_id, extractor_version) AS article_row
    FROM core.articles
    WHERE article_key NOT IN (SELECT article_key FROM quarantined)
      AND article_key NOT IN (SELECT article_key FROM unchecked)
),
versions AS (
    SELECT
        v.article_key,
        hash(v.rowid, v.article_key, v.version_hash, v.page_fetch_id,
             v.extractor_version) AS version_row,
        coalesce(timezone('UTC', v.observed_at)::DATE, DATE '1970-01-01') AS _day
    FROM core.article_versions AS v
    SEMI JOIN visible USING (article_key)
),
per_article AS (
    SELECT article_key, sum(version_row::HUGEINT) AS all_versions
    FROM versions
    GROUP BY article_key
)
SELECT
    x._day,
    count(*) AS n,
    sum(hash(x.version_row, a.article_row, p.all_versions)::HUGEINT)::VARCHAR AS token
FROM versions AS x
JOIN visible AS a USING (article_key)
JOIN per_article AS p USING (article_key)
GROUP BY x._day
