-- Stored page rows (bodies compressed) by event id, for re-extraction.
SELECT event_id, url, url_key, final_url, content_type, body, occurred_at
FROM raw.page_fetches WHERE list_contains($ids, event_id) ORDER BY occurred_at, event_id
