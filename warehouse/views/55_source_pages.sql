-- analytics.source_pages: per source, UTC day and page class, the pages fetched, each page once
-- by its current extraction (the latest extractor version: newsflow's own after any other, then
-- part by part with runs of digits compared as numbers, as transforms.articles orders them) and
-- each source once per page (an entry may have several versions, an outlet several feeds).
CREATE OR REPLACE VIEW analytics.source_pages AS
WITH versions AS (  -- the extractor versions in order, worked out once per version, not per row
    SELECT
        extractor_version,
        row_number() OVER (ORDER BY own DESC, parts DESC, extractor_version DESC) AS rank
    FROM (
        SELECT
            extractor_version,
            starts_with(extractor_version, 'newsflow-extract/') AS own,
            list_transform(
                regexp_extract_all(extractor_version, '[0-9]+|[^0-9]+'),
                r -> CASE WHEN regexp_matches(r, '^[0-9]')
                          THEN {'kind': 0, 'part': lpad(ltrim(r, '0'), 40, '0')}
                          ELSE {'kind': 1, 'part': r} END
            ) AS parts
        FROM (SELECT DISTINCT extractor_version FROM core.page_extractions)
    )
),
current AS (
    SELECT x.page_fetch_id, x.page_class, x.occurred_at
    FROM core.page_extractions AS x
    JOIN versions AS v USING (extractor_version)
    QUALIFY row_number() OVER (PARTITION BY x.page_fetch_id ORDER BY v.rank) = 1
),
pages AS (
    SELECT DISTINCT coalesce(f.outlet, f.name, f.url) AS source, x.page_fetch_id, x.page_class,
           timezone('UTC', x.occurred_at)::DATE AS day
    FROM current AS x
    JOIN raw.page_fetches AS p ON p.event_id = x.page_fetch_id
    JOIN raw.feed_entries AS e ON e.link_key = p.url_key
    JOIN core.feeds AS f USING (feed_id)
)
SELECT source, day, page_class, count(*) AS pages
FROM pages
GROUP BY ALL;
