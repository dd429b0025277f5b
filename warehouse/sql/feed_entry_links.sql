-- Per feed and link of the pairs in the temp table _entry_links (the links a poll's entries
-- carry): the key the link was first stored under, and its latest version's GUID, content hash
-- and fields (for the GUID-churn check and keying by link). Joined on the pairs, so the cost
-- follows the poll, not the feed's whole history; rowids first, then the rows' wide columns
-- (see batch_articles.sql).
WITH hits AS (
    SELECT rowid AS r
    FROM raw.feed_entries AS e
    SEMI JOIN _entry_links AS w ON w.feed_id = e.feed_id AND w.link_key = e.link_key
)
SELECT e.feed_id, e.link_key,
    arg_min(e.entry_key, e.occurred_at) AS entry_key,
    arg_max(struct_pack(guid := e.guid, content_hash := e.content_hash, raw_link := e.raw_link,
                        title := e.title, summary := e.summary, content := e.content,
                        authors := e.authors, tags := e.tags, published_raw := e.published_raw,
                        updated_raw := e.updated_raw), e.occurred_at) AS latest
FROM raw.feed_entries AS e
SEMI JOIN hits ON e.rowid = hits.r
GROUP BY e.feed_id, e.link_key
