-- FAULTS 20: a feed that moved permanently. When every redirect hop of a successful feed fetch
-- was 301/308 (each hop already passed the scheme and SSRF checks of the HTTP layer), the fetch
-- records the target; core.feeds keeps the configured URL (its identity and history) and adopts
-- the target as moved_to, which later polls request. Older rows have no target: NULL.
ALTER TABLE raw.feed_fetches ADD COLUMN permanent_redirect VARCHAR;
ALTER TABLE core.feeds ADD COLUMN moved_to VARCHAR;
