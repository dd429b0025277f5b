-- The next batch of successful page fetches not yet projected into core.page_extractions, after
-- the keyset ($after_at, $after_id), oldest first. Slim: no bodies (page_bodies_of fetches them
-- for the batch alone), and each batch is its own query, so no cursor stays open across the
-- writes the caller makes between batches.
SELECT p.event_id, p.url, p.url_key, p.final_url, p.content_type, p.body_sha256, p.occurred_at
FROM raw.page_fetches AS p
WHERE p.error_class IS NULL
  AND p.has_body
  AND (p.occurred_at, p.event_id) > ($after_at, $after_id)
  AND NOT EXISTS (SELECT 1 FROM core.page_extractions AS x WHERE x.page_fetch_id = p.event_id)
ORDER BY p.occurred_at, p.event_id
LIMIT $limit
