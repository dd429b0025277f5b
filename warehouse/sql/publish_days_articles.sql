-- What publish compares per UTC day (and part of a day: the temp macros _publish_day and
-- _publish_part, warehouse/publish.py) of analytics.articles instead of hashing its rows: the rows
-- the view shows that day and a token of which row versions they are. Core tables change by
-- delete + insert (never UPDATE), so a rowid names one version of a row; the key, content hash,
-- fetch and extractor guard against a rowid a checkpoint reclaimed and a later insert reused.
-- Which articles the view shows comes from the view itself (only its key column is read), so the
-- token follows its filters (quarantine, checks not run yet); the text is never read.
SELECT
    _publish_day(a.first_seen_at) AS _day,
    _publish_part(a.first_seen_at) AS _part,
    count(*) AS n,
    sum(hash(a.rowid, a.article_key, a.content_hash, a.page_fetch_id,
             a.extractor_version)::HUGEINT)::VARCHAR AS token
FROM core.articles AS a
SEMI JOIN (SELECT article_key FROM analytics.articles) AS shown USING (article_key)
GROUP BY _day, _part
