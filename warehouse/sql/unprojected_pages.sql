-- How many successful page fetches have not been projected yet.
SELECT count(*)
FROM raw.page_fetches AS p
ANTI JOIN core.page_extractions AS x ON x.page_fetch_id = p.event_id
WHERE p.error_class IS NULL
  AND p.has_body
