-- Per URL key: whether a page is stored OK, and whether a permanent failure settled it.
SELECT url_key,
       bool_or(error_class IS NULL AND has_body) AS ok,
       bool_or(list_contains($permanent, error_class)) AS permanent
FROM raw.page_fetches
WHERE list_contains($keys, url_key)
GROUP BY url_key
