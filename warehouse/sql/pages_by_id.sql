-- One batch of pending pages, bodies included, by their ids ($ids); the pending placeholder is
-- pages_to_extract.sql. list_contains filters at the scan (an IN subquery here joined the
-- whole table: 25x slower at 100,000 pages).
SELECT q.*
FROM ({pending}) AS q
WHERE list_contains($ids, q.event_id)
ORDER BY q.occurred_at, q.event_id
