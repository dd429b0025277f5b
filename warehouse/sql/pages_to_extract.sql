-- Successful page fetches not yet projected into core.page_extractions.
SELECT p.event_id, p.url, p.url_key, p.final_url, p.content_type, p.body, p.occurred_at
FROM raw.page_fetches AS p
WHERE p.error_class IS NULL
  AND p.body IS NOT NULL
  AND p.event_id NOT IN (SELECT page_fetch_id FROM core.page_extractions)
ORDER BY p.occurred_at, p.event_id
