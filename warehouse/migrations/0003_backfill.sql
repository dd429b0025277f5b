-- Backfill: a per-day ledger, and page extractions keyed by extractor version.

-- One row per (source, origin, day) each time a backfill settles that day. Append-only like all of
-- raw.*: the latest row of a key is its state. A day with a 'done' row is skipped on re-run; a
-- 'partial' day (retryable failures left) is tried again. `origin` names what was read: the site
-- or sitemap URL, the WARC path or URL, the feed URL, or the extractor version for source 'raw'.
-- Writing to it never touches the scheduled pipeline's state (core.feeds, raw.feed_entries).
CREATE TABLE raw.backfill_days (
    event_id        VARCHAR PRIMARY KEY,   -- hash(source, origin, day, status, counts)
    run_id          VARCHAR NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,  -- when the day was settled
    recorded_at     TIMESTAMPTZ NOT NULL,
    schema_version  INTEGER NOT NULL,
    source          VARCHAR NOT NULL,      -- sitemap | warc | archive-feed | raw
    origin          VARCHAR NOT NULL,
    day             DATE NOT NULL,
    status          VARCHAR NOT NULL,      -- done | partial | failed | empty (vocab.DayStatus)
    expected        INTEGER NOT NULL,      -- URLs the source lists for the day (raw: stored pages)
    obtained        INTEGER NOT NULL,      -- of those, pages stored OK (raw: pages re-extracted)
    failed          INTEGER NOT NULL,      -- of those, settled as failures (permanent errors)
    new_rows        INTEGER NOT NULL,      -- raw.page_fetches rows (raw: new article versions)
    detail          JSON                   -- per-source extras (skips, changed/longer/shorter...)
);

-- Re-extraction with a newer extractor adds a row per (page, extractor version) instead of
-- replacing the old one, so the previous outcome stays queryable. DuckDB cannot change a primary
-- key in place: copy, drop, rename (views are re-created after migrations).
CREATE TABLE core.page_extractions_v3 (
    page_fetch_id      VARCHAR NOT NULL,
    article_key        VARCHAR NOT NULL,
    page_class         VARCHAR NOT NULL,
    reason             VARCHAR,
    content_hash       VARCHAR,
    extractor          VARCHAR NOT NULL,
    extractor_version  VARCHAR NOT NULL,
    occurred_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (page_fetch_id, extractor_version)
);
INSERT INTO core.page_extractions_v3 BY NAME SELECT * FROM core.page_extractions;
DROP TABLE core.page_extractions;
ALTER TABLE core.page_extractions_v3 RENAME TO page_extractions;
