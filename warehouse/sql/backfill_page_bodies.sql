-- Stored page rows (bodies compressed, from raw.page_bodies) by event id, for re-extraction.
WITH wanted AS (
    SELECT event_id, url, url_key, final_url, content_type, body_sha256, occurred_at
    FROM raw.page_fetches
    WHERE event_id IN (SELECT unnest($ids)) AND has_body
)
SELECT w.event_id, w.url, w.url_key, w.final_url, w.content_type, b.body, w.occurred_at
FROM wanted AS w
JOIN raw.page_bodies AS b
  ON b.body_sha256 = w.body_sha256
 AND b.body_sha256 IN (SELECT body_sha256 FROM wanted)
QUALIFY row_number() OVER (PARTITION BY w.event_id) = 1
ORDER BY w.occurred_at, w.event_id
