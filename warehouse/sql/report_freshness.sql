-- newsflow status: when the published copy was published, by which run.
SELECT published_at, run_id, generation, articles
FROM analytics.published
