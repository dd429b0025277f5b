-- Requests answered with Retry-After since $since (feeds and pages alike): the URL asked and
-- until when its host asked to be left alone (the delay capped at $cap seconds).
SELECT url, occurred_at + to_microseconds(CAST(least(retry_after_s, $cap) * 1000000 AS BIGINT))
    AS until
FROM (
    SELECT url, occurred_at, retry_after_s FROM raw.feed_fetches
    WHERE retry_after_s IS NOT NULL AND occurred_at > $since
    UNION ALL
    SELECT url, occurred_at, retry_after_s FROM raw.page_fetches
    WHERE retry_after_s IS NOT NULL AND occurred_at > $since
)
