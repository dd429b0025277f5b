-- analytics.daily_volume: articles per outlet per UTC day (by event time), zero days included
-- between an outlet's first and last day, with the volume expected from its previous 7 days.
CREATE OR REPLACE VIEW analytics.daily_volume AS
WITH articles AS (
    SELECT outlet, event_day, word_count FROM staging.articles
),
spans AS (
    SELECT outlet, min(event_day) AS first_day, max(event_day) AS last_day
    FROM articles
    GROUP BY outlet
),
days AS (
    SELECT outlet, unnest(generate_series(first_day, last_day, INTERVAL 1 DAY))::DATE AS day
    FROM spans
),
counts AS (
    SELECT outlet, event_day AS day, count(*) AS articles, sum(word_count) AS words
    FROM articles
    GROUP BY ALL
),
filled AS (
    SELECT
        d.outlet,
        d.day,
        coalesce(c.articles, 0) AS articles,
        coalesce(c.words, 0) AS words
    FROM days AS d
    LEFT JOIN counts AS c USING (outlet, day)
),
final AS (
    SELECT
        outlet,
        day,
        articles,
        words,
        round(avg(articles) OVER w, 2) AS expected_articles,
        count(*) OVER w AS history_days,
        round(articles / nullif(avg(articles) OVER w, 0), 2) AS ratio_to_expected
    FROM filled
    WINDOW w AS (PARTITION BY outlet ORDER BY day ROWS BETWEEN 7 PRECEDING AND 1 PRECEDING)
)
SELECT * FROM final;
