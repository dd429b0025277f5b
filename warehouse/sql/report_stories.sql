-- newsflow stories: stories covered by several articles, most outlets first.
SELECT story_id, headline, first_outlet, first_published_at::TIMESTAMP(0) AS first_at,
       duration_hours AS hours, articles, outlets, syndicated_copies AS syndicated
FROM analytics.stories
WHERE ($since IS NULL OR first_published_at >= $since)
ORDER BY outlets DESC, articles DESC, first_published_at
LIMIT $limit
