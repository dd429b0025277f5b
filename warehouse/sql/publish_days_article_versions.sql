-- What publish compares per UTC day of analytics.article_versions (see publish_days_articles.sql):
-- a version's row depends on the version itself, on its article's current row (is_current) and on
-- the article's other versions (numbering, what changed), so the token of each row covers all
-- three. Which articles count comes from staging.articles, as in the view (only its keys read).
WITH visible AS (
    SELECT
        article_key,
        hash(rowid, article_key, content_hash, page_fetch_id, extractor_version) AS article_row
    FROM core.articles
    SEMI JOIN (SELECT article_key FROM staging.articles) AS shown USING (article_key)
),
versions AS (
    SELECT
        v.article_key,
        hash(v.rowid, v.article_key, v.version_hash, v.page_fetch_id,
             v.extractor_version) AS version_row,
        _publish_day(v.observed_at) AS _day,
        _publish_part(v.observed_at) AS _part
    FROM core.article_versions AS v  -- all of them: the last join keeps the visible articles' own
),
per_article AS (
    SELECT article_key, sum(version_row::HUGEINT) AS all_versions
    FROM versions
    GROUP BY article_key
)
SELECT
    x._day,
    x._part,
    count(*) AS n,
    sum(hash(x.version_row, a.article_row, p.all_versions)::HUGEINT)::VARCHAR AS token
FROM versions AS x
JOIN visible AS a USING (article_key)
JOIN per_article AS p USING (article_key)
GROUP BY x._day, x._part
