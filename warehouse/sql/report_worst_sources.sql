-- newsflow quality: the sources with the largest share of pages that are not articles
-- (analytics.source_pages counts each page once, by its current extraction).
WITH classes AS (
    SELECT source, page_class, sum(pages) AS pages
    FROM analytics.source_pages
    WHERE day >= $since
    GROUP BY ALL
)
SELECT source, sum(pages)::BIGINT AS pages,
       (sum(pages) FILTER (WHERE page_class <> 'article'))::BIGINT AS not_articles,
       round(100.0 * sum(pages) FILTER (WHERE page_class <> 'article') / sum(pages), 1) AS pct,
       first(page_class ORDER BY pages DESC, page_class) FILTER (WHERE page_class <> 'article')
           AS main_problem
FROM classes
GROUP BY source
HAVING not_articles > 0
ORDER BY pct DESC, source
LIMIT $limit
