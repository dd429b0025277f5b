-- Forget what the page fetches in [lo, hi) became, so they are extracted again.
DELETE FROM core.article_versions
WHERE page_fetch_id IN (SELECT event_id FROM raw.page_fetches
                        WHERE occurred_at >= $lo AND occurred_at < $hi);
DELETE FROM core.page_extractions
WHERE page_fetch_id IN (SELECT event_id FROM raw.page_fetches
                        WHERE occurred_at >= $lo AND occurred_at < $hi);
