-- The links whose items may be first seen in the parts of days publish writes (the temp table
-- _publish_parts): every link with a feed entry in one of them. An item's first time is the
-- time of one of its entries, so this holds every item of those parts (and some of others, which
-- publish filters out). analytics.items read through only these links' entries gives those items
-- whole, without evaluating the view over the history (see _narrowed in warehouse/publish.py).
-- _publish_span(occurred_at) (warehouse/publish.py), a time range around those parts, lets
-- DuckDB skip the row groups outside it: only the rows near them are split by day and part.
SELECT DISTINCT link_key
FROM (
    SELECT link_key, _publish_day(occurred_at) AS _day, _publish_part(occurred_at) AS _part
    FROM raw.feed_entries
    WHERE link_key IS NOT NULL AND _publish_span(occurred_at)
)
SEMI JOIN _publish_parts USING (_day, _part)
