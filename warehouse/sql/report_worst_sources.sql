-- newsflow quality: the sources with the largest share of pages that are not articles.
-- Each page once per source: its current extraction only (a re-extraction adds a row per
-- extractor version), and each source once per page (raw.feed_entries holds a row per entry
-- version, and one outlet may link a page from several of its feeds).
WITH current AS (
    SELECT page_fetch_id, page_class, occurred_at
    FROM core.page_extractions
    QUALIFY row_number() OVER (PARTITION BY page_fetch_id
                               ORDER BY list_position($versions, extractor_version) DESC) = 1
),
pages AS (
    SELECT DISTINCT coalesce(f.outlet, f.name, f.url) AS source, x.page_fetch_id, x.page_class
    FROM current AS x
    JOIN raw.page_fetches AS p ON p.event_id = x.page_fetch_id
    JOIN raw.feed_entries AS e ON e.link_key = p.url_key
    JOIN core.feeds AS f USING (feed_id)
    WHERE x.occurred_at >= $since
)
SELECT source, count(*) AS pages,
       count(*) FILTER (WHERE page_class <> 'article') AS not_articles,
       round(100.0 * count(*) FILTER (WHERE page_class <> 'article') / count(*), 1) AS pct,
       mode(page_class ORDER BY page_class) FILTER (WHERE page_class <> 'article') AS main_problem
FROM pages
GROUP BY source
HAVING not_articles > 0
ORDER BY pct DESC, source
LIMIT $limit
