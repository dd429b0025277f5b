-- One batch of still-pending pages by their ids (the temp table _page_ids, loaded by
-- projections.pages_by_id), in extraction order, without bodies (page_bodies_of.sql reads them
-- by hash for this batch alone). Joined on the ids, so the cost follows the batch: the check that
-- a page is still unprojected probes core.page_extractions with the batch's ids only.
WITH hits AS (  -- rowids first, then the rows (see batch_articles.sql)
    SELECT rowid AS r FROM raw.page_fetches SEMI JOIN _page_ids USING (event_id)
),
batch AS (
    SELECT p.event_id, p.url, p.url_key, p.final_url, p.content_type, p.body_sha256,
           p.occurred_at
    FROM raw.page_fetches AS p
    SEMI JOIN hits ON p.rowid = hits.r
    WHERE p.error_class IS NULL
      AND p.has_body
)
SELECT b.*
FROM batch AS b
ANTI JOIN (SELECT x.page_fetch_id FROM core.page_extractions AS x
           SEMI JOIN _page_ids AS i ON i.event_id = x.page_fetch_id) AS done
    ON done.page_fetch_id = b.event_id
ORDER BY b.occurred_at, b.event_id
