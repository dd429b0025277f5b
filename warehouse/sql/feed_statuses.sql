-- The health of some feeds as core.feeds has it now (before and after a poll: what changed).
SELECT feed_id, url, coalesce(title, name) AS title, status, why, last_success_at,
       consecutive_failures
FROM core.feeds
WHERE list_contains($feeds, feed_id)
ORDER BY feed_id
