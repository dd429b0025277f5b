-- staging.*: the analyst marts' inputs, one per core table, renamed and typed once:
-- quarantined articles and those whose checks have not run left out, each article's event time (published_at unless missing or
-- suspect, then first seen) and its UTC day, outlets never NULL.
CREATE OR REPLACE VIEW staging.articles AS
WITH source AS (
    SELECT * FROM core.articles
),
quarantined AS (
    SELECT DISTINCT event_id AS article_key
    FROM quality.quarantine
    WHERE table_name = 'core.articles'
),
unchecked AS (
    SELECT DISTINCT unnest(keys) AS article_key
    FROM quality.pending_checks
    WHERE table_name = 'core.articles'
),
renamed AS (
    SELECT
        s.article_key,
        coalesce(s.outlet, s.site_name, 'unknown') AS outlet,
        s.feed_id,
        s.url,
        s.title,
        s.text,
        s.word_count,
        s.language,
        s.published_at,
        s.date_suspect,
        s.first_seen_at,
        s.last_seen_at,
        s.version_count,
        s.content_hash,
        CASE WHEN s.published_at IS NULL OR s.date_suspect THEN s.first_seen_at
             ELSE s.published_at END AS event_at
    FROM source AS s
    WHERE s.article_key NOT IN (SELECT article_key FROM quarantined)
      AND s.article_key NOT IN (SELECT article_key FROM unchecked)
),
final AS (
    SELECT *, timezone('UTC', event_at)::DATE AS event_day
    FROM renamed
)
SELECT * FROM final;

CREATE OR REPLACE VIEW staging.feeds AS
SELECT
    feed_id,
    coalesce(outlet, name, title, url) AS outlet,
    coalesce(name, title, url) AS feed,
    url,
    status,
    why,
    consecutive_failures,
    last_attempt_at,
    last_success_at,
    entries_seen
FROM core.feeds;

-- The newest entry version each feed delivered, from the raw log (entries are rows per new
-- version, so this is when the feed last said something new).
CREATE OR REPLACE VIEW staging.feed_entries AS
SELECT
    feed_id,
    count(DISTINCT entry_key) AS entries,
    min(occurred_at) AS first_entry_at,
    max(occurred_at) AS last_entry_at
FROM raw.feed_entries
GROUP BY feed_id;

CREATE OR REPLACE VIEW staging.story_articles AS
SELECT
    sa.story_id,
    sa.article_key,
    coalesce(sa.outlet, 'unknown') AS outlet,
    sa.published_at,
    sa.position,
    sa.similarity,
    sa.link_kind,
    sa.is_syndicated,
    sa.syndicated_from
FROM core.story_articles AS sa
WHERE sa.article_key IN (SELECT article_key FROM staging.articles);
