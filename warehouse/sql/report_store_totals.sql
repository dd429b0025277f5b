-- newsflow run: the store's totals shown beside the run's counts.
SELECT (SELECT count(*) FROM raw.feed_entries) AS feed_entries,
       (SELECT count(*) FROM raw.page_fetches) AS page_fetches,
       (SELECT count(*) FROM core.articles) AS articles
