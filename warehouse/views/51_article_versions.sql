-- analytics.article_versions: every distinct extracted version of every article, numbered in
-- the order they were seen, with what changed since the previous one. The current version is the
-- one core.articles shows (a re-extraction of the same fetch by a newer extractor wins there).
CREATE OR REPLACE VIEW analytics.article_versions AS
WITH source AS (
    SELECT v.*
    FROM core.article_versions AS v
    SEMI JOIN staging.articles AS a USING (article_key)
),
numbered AS (
    SELECT
        *,
        row_number() OVER w AS version,
        lag(content_hash) OVER w AS previous_hash,
        lag(title) OVER w AS previous_title,
        lag(word_count) OVER w AS previous_word_count,
        count(*) OVER (PARTITION BY article_key) AS versions
    FROM source
    WINDOW w AS (PARTITION BY article_key ORDER BY observed_at, content_hash, extractor_version)
),
final AS (
    SELECT
        n.article_key,
        n.version,
        n.content_hash = a.content_hash AND n.page_fetch_id = a.page_fetch_id
            AND n.extractor_version = a.extractor_version AS is_current,
        n.observed_at,
        n.content_hash,
        n.extractor,
        n.extractor_version,
        n.title,
        n.title IS DISTINCT FROM n.previous_title AND n.version > 1 AS title_changed,
        n.word_count,
        n.word_count - n.previous_word_count AS words_added,
        n.page_published_at,
        n.modified_at,
        n.text,
        n.page_fetch_id,
        n.url
    FROM numbered AS n
    JOIN core.articles AS a USING (article_key)
)
SELECT * FROM final;
