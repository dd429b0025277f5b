-- Article keys of the page fetches whose time falls in [lo, hi).
SELECT DISTINCT article_key
FROM core.page_extractions
WHERE page_fetch_id IN (SELECT event_id FROM raw.page_fetches
                        WHERE occurred_at >= $lo AND occurred_at < $hi)
