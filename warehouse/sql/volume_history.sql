-- Articles per source per day over the window ending at $day, with zero-filled days, for the
-- volume check. A source is an outlet (the feed's outlet, else its name or URL); the day is the
-- article's publication day, else the day it was first seen.
WITH sources AS (
    SELECT DISTINCT coalesce(outlet, name, url) AS source FROM core.feeds
),
days AS (
    SELECT unnest(generate_series($day::DATE - INTERVAL ($window - 1) DAY, $day::DATE, INTERVAL 1 DAY))::DATE AS day
),
near AS (  -- the articles whose day can fall in the window, a day of margin either side (the
           -- day is taken in the session's time zone): each half tests one column against a
           -- range of constants, so DuckDB skips the row groups outside it by their min/max
           -- instead of counting every article of the history (at 104k 0.025 -> 0.007 CPU s)
    SELECT feed_id, outlet, published_at, first_seen_at FROM core.articles
    WHERE published_at >= ($day::DATE - INTERVAL ($window + 1) DAY)::TIMESTAMPTZ
      AND published_at < ($day::DATE + INTERVAL 2 DAY)::TIMESTAMPTZ
    UNION ALL
    SELECT feed_id, outlet, published_at, first_seen_at FROM core.articles
    WHERE published_at IS NULL
      AND first_seen_at >= ($day::DATE - INTERVAL ($window + 1) DAY)::TIMESTAMPTZ
      AND first_seen_at < ($day::DATE + INTERVAL 2 DAY)::TIMESTAMPTZ
),
articles AS (
    SELECT coalesce(f.outlet, f.name, f.url, a.outlet) AS source,
           coalesce(a.published_at, a.first_seen_at)::DATE AS day
    FROM near AS a
    LEFT JOIN core.feeds AS f USING (feed_id)
),
counts AS (
    SELECT source, day, count(*) AS n FROM articles GROUP BY ALL
),
final AS (
    SELECT s.source, d.day, coalesce(c.n, 0) AS n
    FROM sources AS s CROSS JOIN days AS d
    LEFT JOIN counts AS c ON c.source = s.source AND c.day = d.day
)
SELECT * FROM final ORDER BY source, day
