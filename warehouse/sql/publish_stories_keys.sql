-- The stories first published in the parts of days publish writes (the temp table
-- _publish_parts). analytics.stories read through only these stories' members gives their rows
-- whole, without evaluating the view over the history (see _narrowed in warehouse/publish.py).
-- _publish_span(first_published_at) (warehouse/publish.py), a time range around those parts, lets
-- DuckDB skip the row groups outside it: only the rows near them are split by day and part.
SELECT story_id
FROM (
    SELECT story_id, _publish_day(first_published_at) AS _day,
           _publish_part(first_published_at) AS _part
    FROM core.stories
    WHERE _publish_span(first_published_at)
)
SEMI JOIN _publish_parts USING (_day, _part)
