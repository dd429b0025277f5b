-- The links whose items may be first seen on the days publish writes ($days): every link with a
-- feed entry on one of them. An item's first day is the day of one of its entries, so this holds
-- every item of those days (and some of other days, which publish filters out). analytics.items
-- read through only these links' entries gives those items whole, without evaluating the view
-- over the history (see _narrowed in warehouse/publish.py).
SELECT DISTINCT link_key
FROM raw.feed_entries
WHERE link_key IS NOT NULL
  AND coalesce(timezone('UTC', occurred_at)::DATE, DATE '1970-01-01')
      IN (SELECT unnest($days::DATE[]))
