-- The newest day the articles cover (not the clock: a replayed store judges the same day);
-- a publication date far past the first sighting is not trusted as the newest day.
SELECT max(coalesce(published_at, first_seen_at))::DATE
FROM core.articles
WHERE coalesce(published_at, first_seen_at) <= first_seen_at + INTERVAL 2 DAY
