-- The export selection: analytics.articles with the UTC event day (the partition: published_at,
-- else first seen when the date is unknown or suspect) and the story of each article, for days
-- $since..$until inclusive (NULL = open). Only analytics.* names: the same selection runs on the
-- published copy (what `newsflow export` reads) and on the store.
WITH articles AS (
    SELECT
        timezone('UTC', CASE WHEN a.published_at IS NULL OR a.date_suspect THEN a.first_seen_at
                             ELSE a.published_at END)::DATE AS date,
        a.*
    FROM analytics.articles AS a
)
SELECT
    a.*,
    st.story_id
FROM articles AS a
LEFT JOIN analytics.story_articles AS st USING (article_key)
WHERE ($since IS NULL OR a.date >= CAST($since AS DATE))
  AND ($until IS NULL OR a.date <= CAST($until AS DATE))
