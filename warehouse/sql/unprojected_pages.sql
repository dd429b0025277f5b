-- How many successful page fetches have not been projected yet.
SELECT count(*)
FROM raw.page_fetches AS p
WHERE p.error_class IS NULL
  AND p.has_body
  AND NOT EXISTS (SELECT 1 FROM core.page_extractions AS x WHERE x.page_fetch_id = p.event_id)
