-- Every stored article once, for the day token queries that read articles (publish_days_*.sql):
-- the 64-bit hash of its key (what they join on), its time, a hash of which row version it is
-- (core tables change by delete + insert, never UPDATE, so a rowid names one version of a row;
-- the key, content hash, fetch and extractor guard against a rowid a checkpoint reclaimed and a
-- later insert reused) and whether each article view shows it (from the views themselves, only
-- their key column read, so the tokens follow their filters: quarantine, checks not run yet).
-- warehouse/publish.py makes this temp table once per publish, before the first token query:
-- read by each of them, the articles were scanned, hashed and matched against the views five
-- times (at 105k articles the tokens went from 0.56 to 0.49 CPU s).
-- Keyed by the hash of the article key, not the key: hash tables of integers cost less than of
-- long URL keys. Two keys with one hash (odds about n^2 / 2^65: 3e-10 at 100k articles) would
-- only blur the row count a token query reports for a day it links; the token still changes
-- with every row of either.
CREATE OR REPLACE TEMP TABLE _publish_articles AS
WITH articles AS (
    SELECT
        hash(article_key) AS k,
        first_seen_at,
        hash(rowid, article_key, content_hash, page_fetch_id, extractor_version) AS article_row
    FROM core.articles
)
SELECT
    k,
    first_seen_at,
    article_row,
    k IN (SELECT hash(article_key) FROM analytics.articles) AS shown,
    k IN (SELECT hash(article_key) FROM staging.articles) AS staged
FROM articles
