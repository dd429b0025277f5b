-- The newest day the articles cover (not the clock: a replayed store judges the same day);
-- a publication date far past the first sighting is not trusted as the newest day. That is
-- max(coalesce(published_at, first_seen_at)) over the rows whose value is at most two days past
-- their first sighting, asked as two top-1 reads, one per column the value comes from: DuckDB
-- then skips the row groups whose zone maps lie below the best value found so far, instead of
-- reading every article (at 104k articles 0.030 -> 0.002 CPU s).
SELECT greatest(
    (SELECT published_at FROM core.articles
     WHERE published_at IS NOT NULL AND published_at <= first_seen_at + INTERVAL 2 DAY
     ORDER BY published_at DESC LIMIT 1),
    (SELECT first_seen_at FROM core.articles
     WHERE published_at IS NULL AND first_seen_at IS NOT NULL
     ORDER BY first_seen_at DESC LIMIT 1)
)::DATE
