-- The stored pages of articles published in a time range (by the article's publication date, as
-- extracted), and whether the current extractor already projected each.
SELECT p.event_id, p.url,
       EXISTS (SELECT 1 FROM core.page_extractions AS x
               WHERE x.page_fetch_id = p.event_id AND x.extractor_version = $version) AS current
FROM raw.page_fetches AS p
WHERE p.error_class IS NULL AND p.has_body
  AND p.event_id IN (SELECT x.page_fetch_id
                     FROM core.page_extractions AS x
                     JOIN core.articles AS a USING (article_key)
                     WHERE a.published_at >= $lo AND a.published_at < $hi)
ORDER BY p.occurred_at, p.event_id
