-- Name, outlet, URL and poll_minutes of configured feeds that already have a row (registered as _feed_configs).
UPDATE core.feeds AS f
SET url = c.url, name = c.name, outlet = c.outlet, poll_minutes = c.poll_minutes
FROM _feed_configs AS c
WHERE f.feed_id = c.feed_id
  AND (f.url IS DISTINCT FROM c.url OR f.name IS DISTINCT FROM c.name
       OR f.outlet IS DISTINCT FROM c.outlet OR f.poll_minutes IS DISTINCT FROM c.poll_minutes)
