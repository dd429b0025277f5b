-- Each feed's outlet, for the article projection.
SELECT feed_id, outlet FROM core.feeds
