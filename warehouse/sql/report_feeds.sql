-- newsflow feeds list: every feed with its status, why, and next poll.
SELECT feed, outlet, status,
       why || coalesce('; moved permanently to ' || moved_to, '')
           || coalesce('; untrusted: ' || untrusted_why, '')
           || CASE WHEN entry_identity = 'link' THEN '; keyed by link (GUIDs change)' ELSE '' END
           AS why,
       consecutive_failures AS fails,
       last_success_at::TIMESTAMP(0) AS last_ok,
       next_poll_at::TIMESTAMP(0) AS next_poll,
       entries_seen AS entries
FROM analytics.feed_health
ORDER BY status, feed
