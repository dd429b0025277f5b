-- Per feed and link: the key the link was first stored under, and its latest version's GUID,
-- content hash and fields (for the GUID-churn check and keying by link).
SELECT feed_id, link_key,
    arg_min(entry_key, occurred_at) AS entry_key,
    arg_max(struct_pack(guid := guid, content_hash := content_hash, raw_link := raw_link,
                        title := title, summary := summary, content := content,
                        authors := authors, tags := tags, published_raw := published_raw,
                        updated_raw := updated_raw), occurred_at) AS latest
FROM raw.feed_entries
WHERE list_contains($feeds, feed_id) AND link_key IS NOT NULL
GROUP BY feed_id, link_key
