-- What the scheduler needs of each feed: when it is due, its validators, where it moved, its
-- status, how its entries are keyed, and how many polls in a row answered 304 since the last
-- body (every Nth such poll is checked with an unconditional fetch).
WITH last_body AS (
    SELECT feed_id, max(occurred_at) AS at
    FROM raw.feed_fetches
    WHERE error_class IS NULL AND NOT not_modified
    GROUP BY feed_id
),
unconfirmed AS (
    SELECT r.feed_id, count(DISTINCT r.run_id) AS polls
    FROM raw.feed_fetches AS r LEFT JOIN last_body AS b USING (feed_id)
    WHERE r.not_modified AND r.occurred_at > coalesce(b.at, '-infinity'::TIMESTAMPTZ)
    GROUP BY r.feed_id
)
SELECT f.feed_id, f.next_poll_at, f.etag, f.last_modified, f.moved_to, f.status,
    coalesce(u.polls, 0) AS polls_since_body, f.entry_identity
FROM core.feeds AS f LEFT JOIN unconfirmed AS u USING (feed_id)
