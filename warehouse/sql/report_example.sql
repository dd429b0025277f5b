SELECT outlet, count(*) AS articles, round(avg(word_count)) AS avg_words,
       min(published_at)::DATE AS first_day, max(published_at)::DATE AS last_day
FROM analytics.articles GROUP BY outlet ORDER BY articles DESC
