-- What publish compares per UTC day of analytics.article_versions (see publish_days_articles.sql):
-- a version's row depends on the version itself, on its article's current row (is_current) and on
-- the article's other versions (numbering, what changed), so the token of each row covers all
-- three. Which articles count comes from staging.articles, as in the view (the temp table
-- _publish_articles, publish_article_rows.sql, says which articles it shows and which row version
-- each is). Joined and grouped on the 64-bit hash of the article key, not the key itself: a hash
-- table of integers costs less than one of long keys (at 104k stored versions 0.19 -> 0.14 CPU
-- s). Two keys with one hash (odds about n^2 / 2^65: 3e-10 at 100k articles) would only blur the
-- row count this day reports for a day it links; the token still changes with every row of either.
WITH versions AS (
    SELECT
        hash(v.article_key) AS k,
        hash(v.rowid, v.article_key, v.version_hash, v.page_fetch_id,
             v.extractor_version) AS version_row,
        _publish_day(v.observed_at) AS _day,
        _publish_part(v.observed_at) AS _part
    FROM core.article_versions AS v  -- all of them: the last join keeps the visible articles' own
),
per_article AS (
    SELECT k, sum(version_row::HUGEINT) AS all_versions
    FROM versions
    GROUP BY k
)
SELECT
    x._day,
    x._part,
    count(*) AS n,
    sum(hash(x.version_row, a.article_row, p.all_versions)::HUGEINT)::VARCHAR AS token
FROM versions AS x
JOIN _publish_articles AS a ON a.k = x.k AND a.staged
JOIN per_article AS p ON p.k = x.k
GROUP BY x._day, x._part
