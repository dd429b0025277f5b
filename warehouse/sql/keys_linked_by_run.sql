-- Article keys that feed entries written by one run point at.
SELECT DISTINCT x.article_key
FROM raw.feed_entries AS e
JOIN raw.page_fetches AS p ON p.url_key = e.link_key
JOIN core.page_extractions AS x ON x.page_fetch_id = p.event_id
WHERE e.run_id = $run
ORDER BY 1
