-- Issue 18 (FAULTS case 36): a feed document's entries beyond the per-fetch cap are counted,
-- stored and checked, never dropped unseen. NULL for attempts with no parse, and for rows
-- written before this migration (their count is unknown); 0 when every entry was ingested.
ALTER TABLE raw.feed_fetches ADD COLUMN entries_left_out INTEGER;
