-- The stories with a member published in the parts of days publish writes (the temp table
-- _publish_parts). A member's row of analytics.story_articles reads the other members of its
-- story, so the view is read through all members of these stories: whole for them, without
-- evaluating it over the history (see _narrowed in warehouse/publish.py).
-- _publish_span(published_at) (warehouse/publish.py), a time range around those parts, lets
-- DuckDB skip the row groups outside it: only the rows near them are split by day and part.
SELECT DISTINCT story_id
FROM (
    SELECT story_id, _publish_day(published_at) AS _day, _publish_part(published_at) AS _part
    FROM core.story_articles
    WHERE _publish_span(published_at)
)
SEMI JOIN _publish_parts USING (_day, _part)
