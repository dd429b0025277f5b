-- analytics.article_changes: one row per change of an article seen by a revisit (or by any later
-- fetch): the version before against the version after, as extracted by the same extractor
-- version. The diff lists the changed sentences of the body: '- ' before, '+ ' after.
CREATE OR REPLACE VIEW analytics.article_changes AS
WITH source AS (
    SELECT c.*
    FROM core.article_changes AS c
    SEMI JOIN staging.articles AS a USING (article_key)
),
final AS (
    SELECT
        s.article_key,
        a.outlet,
        a.url,
        a.title AS current_title,
        s.seen_at,
        s.previous_seen_at,
        s.changed,
        list_contains(s.changed, 'title') AS title_changed,
        list_contains(s.changed, 'body') AS body_changed,
        list_contains(s.changed, 'dates') AS dates_changed,
        list_contains(s.changed, 'authors') AS authors_changed,
        s.title_before,
        s.title_after,
        s.words_added,
        s.words_removed,
        s.diff,
        s.extractor_version,
        s.page_fetch_id
    FROM source AS s
    JOIN staging.articles AS a USING (article_key)
)
SELECT * FROM final;
