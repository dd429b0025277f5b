-- analytics.feed_health: each feed's status, why, and when it is polled next.
CREATE OR REPLACE VIEW analytics.feed_health AS
SELECT
    feed_id,
    coalesce(name, title, url) AS feed,
    outlet,
    url,
    moved_to,
    status,
    why,
    consecutive_failures,
    last_attempt_at,
    last_success_at,
    last_error_class,
    next_poll_at,
    entries_seen,
    untrusted_why IS NULL AS validators_trusted,
    untrusted_why,
    entry_identity,
    poll_minutes
FROM core.feeds;
