-- Every feed's id.
SELECT feed_id FROM core.feeds
