-- `newsflow search`: ranked hits of analytics.search($q) within an optional date range and
-- outlet ($since/$until: naive UTC times, $until exclusive), with the story each article belongs to (NULL when it stands alone).
-- Only analytics.* names: the same query runs on the store and on the published copy.
SELECT
    row_number() OVER (ORDER BY s.rank) AS rank,
    s.score,
    s.matched_terms,
    s.query_terms,
    s.article_key,
    s.outlet,
    s.published_at,
    s.title,
    s.snippet,
    s.url,
    sa.story_id
FROM analytics.search($q) AS s
LEFT JOIN analytics.story_articles AS sa USING (article_key)
WHERE ($since IS NULL OR s.published_at >= timezone('UTC', CAST($since AS TIMESTAMP)))
  AND ($until IS NULL OR s.published_at < timezone('UTC', CAST($until AS TIMESTAMP)))
  AND ($outlet IS NULL OR s.outlet = $outlet)
ORDER BY s.rank
LIMIT $limit;
