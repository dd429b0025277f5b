-- The articles first seen in the parts of days publish writes (the temp table _publish_parts; a
-- part of a day by the temp macros of warehouse/publish.py). A row of analytics.articles
-- depends only on its own article (and on whether it is quarantined or waiting for its checks),
-- so the view read through these articles gives those parts whole, without reading the history
-- (see _narrowed in warehouse/publish.py).
-- _publish_span(first_seen_at) (warehouse/publish.py), a time range around those parts, lets
-- DuckDB skip the row groups outside it: only the rows near them are split by day and part.
SELECT article_key
FROM (
    SELECT article_key, _publish_day(first_seen_at) AS _day, _publish_part(first_seen_at) AS _part
    FROM core.articles
    WHERE _publish_span(first_seen_at)
)
SEMI JOIN _publish_parts USING (_day, _part)
