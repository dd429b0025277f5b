-- One batch of still-pending pages by their ids ($ids), in extraction order, without bodies
-- (page_bodies_of.sql reads them by hash for this batch alone). list_contains filters at the
-- scan (an IN subquery joined the whole table: 25x slower at 100,000 pages).
SELECT p.event_id, p.url, p.url_key, p.final_url, p.content_type, p.body_sha256, p.occurred_at
FROM raw.page_fetches AS p
WHERE list_contains($ids, p.event_id)
  AND p.error_class IS NULL
  AND p.has_body
  AND NOT EXISTS (SELECT 1 FROM core.page_extractions AS x WHERE x.page_fetch_id = p.event_id)
ORDER BY p.occurred_at, p.event_id
