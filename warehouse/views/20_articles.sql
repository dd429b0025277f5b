-- analytics.articles: one row per article with its clean text and metadata. Articles quarantined
-- by a blocking check are left out (they stay in core.articles and quality.quarantine), and so
-- are those of a committed batch whose checks have not run yet (quality.pending_checks).
CREATE OR REPLACE VIEW analytics.articles AS
WITH articles AS (
    SELECT a.* FROM core.articles AS a
),
quarantined AS (
    SELECT DISTINCT event_id AS article_key
    FROM quality.quarantine
    WHERE table_name = 'core.articles'
),
unchecked AS (
    -- a committed batch whose checks have not run yet (issue 18) is not shown
    SELECT DISTINCT unnest(keys) AS article_key
    FROM quality.pending_checks
    WHERE table_name = 'core.articles'
),
final AS (
    SELECT
        a.article_key,
        a.url,
        a.canonical_url,
        a.outlet,
        a.site_name,
        a.feed_id,
        a.title,
        a.authors,
        a.published_at,
        a.published_source,
        a.date_suspect,
        a.language,
        a.description,
        a.tags,
        a.text,
        a.word_count,
        a.first_seen_at,
        a.last_seen_at,
        a.version_count,
        a.content_hash,
        a.modified_at,
        a.image,
        a.page_fetch_id,
        a.extractor,
        a.extractor_version,
        a.is_short,
        a.access
    FROM articles AS a
    WHERE a.article_key NOT IN (SELECT article_key FROM quarantined)
      AND a.article_key NOT IN (SELECT article_key FROM unchecked)
)
SELECT * FROM final;
