-- Keys first: the ids of the successful page fetches not yet projected into
-- core.page_extractions, in extraction order (oldest first). No bodies: they live in
-- raw.page_bodies and are read one batch at a time (pages_by_id.sql, page_bodies_of.sql).
SELECT p.event_id
FROM raw.page_fetches AS p
WHERE p.error_class IS NULL
  AND p.has_body
  AND NOT EXISTS (SELECT 1 FROM core.page_extractions AS x WHERE x.page_fetch_id = p.event_id)
ORDER BY p.occurred_at, p.event_id
