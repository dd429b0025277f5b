-- The articles first seen on the days publish writes ($days). A row of analytics.articles
-- depends only on its own article (and on whether it is quarantined or waiting for its checks),
-- so the view read through these articles gives those days whole, without reading the history
-- (see _narrowed in warehouse/publish.py).
SELECT article_key
FROM core.articles
WHERE coalesce(timezone('UTC', first_seen_at)::DATE, DATE '1970-01-01')
      IN (SELECT unnest($days::DATE[]))
