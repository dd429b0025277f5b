-- The export selection: analytics.articles with the UTC event day (the partition) and the story
-- of each article, for days $since..$until inclusive (NULL = open).
SELECT
    sa.event_day AS date,
    a.*,
    st.story_id
FROM analytics.articles AS a
JOIN staging.articles AS sa USING (article_key)
LEFT JOIN core.story_articles AS st USING (article_key)
WHERE ($since IS NULL OR sa.event_day >= CAST($since AS DATE))
  AND ($until IS NULL OR sa.event_day <= CAST($until AS DATE))
