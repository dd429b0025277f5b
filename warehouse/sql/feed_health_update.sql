-- The health columns of core.feeds from the projection's rows (registered as _feed_health).
UPDATE core.feeds AS f
SET title = coalesce(h.title, f.title),
    feed_version = h.feed_version,
    etag = h.etag,
    last_modified = h.last_modified,
    last_attempt_at = h.last_attempt_at,
    last_success_at = h.last_success_at,
    last_error_class = h.last_error_class,
    moved_to = h.moved_to,
    consecutive_failures = h.consecutive_failures,
    entries_seen = h.entries_seen,
    status = h.status,
    next_poll_at = h.next_poll_at,
    why = h.why,
    untrusted_why = h.untrusted_why,
    entry_identity = h.entry_identity
FROM _feed_health AS h
WHERE f.feed_id = h.feed_id
