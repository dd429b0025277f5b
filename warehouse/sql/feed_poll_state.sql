-- What the scheduler needs of each feed: when it is due, its validators, where it moved.
SELECT feed_id, next_poll_at, etag, last_modified, moved_to FROM core.feeds
