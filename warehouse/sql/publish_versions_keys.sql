-- The articles whose versions may fall in the parts of days publish writes (the temp table
-- _publish_parts): every article with a version observed in one of them. A version's row depends
-- on its article's other versions (numbering, what changed), so analytics.article_versions is
-- read through all versions of these articles: whole for them, without evaluating its window
-- functions over the history (see _narrowed in warehouse/publish.py).
-- _publish_span(observed_at) (warehouse/publish.py), a time range around those parts, lets
-- DuckDB skip the row groups outside it: only the rows near them are split by day and part.
SELECT DISTINCT article_key
FROM (
    SELECT article_key, _publish_day(observed_at) AS _day, _publish_part(observed_at) AS _part
    FROM core.article_versions
    WHERE _publish_span(observed_at)
)
SEMI JOIN _publish_parts USING (_day, _part)
