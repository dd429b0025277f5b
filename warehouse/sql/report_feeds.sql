-- newsflow feeds list: every feed with its status, why, and next poll; the feeds that need a
-- person first (gone, failing, silent), then new and ok ones.
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
ORDER BY CASE status WHEN 'gone' THEN 0 WHEN 'failing' THEN 1 WHEN 'silent' THEN 2
                     WHEN 'new' THEN 3 ELSE 4 END, status, feed
