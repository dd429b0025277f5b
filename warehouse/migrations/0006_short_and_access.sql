-- Issue 17: a short brief kept as an article (is_short: under the extractor's length floor, on a
-- page with article markup, a headline and a date), and whether the text is the whole article
-- (access: free, paywalled (a teaser: isAccessibleForFree false or a text that stops at a
-- subscription prompt) or unknown). Older versions were never short; their access is unknown.
ALTER TABLE core.article_versions ADD COLUMN is_short BOOLEAN DEFAULT false;
ALTER TABLE core.article_versions ADD COLUMN access VARCHAR DEFAULT 'unknown';
ALTER TABLE core.articles ADD COLUMN is_short BOOLEAN DEFAULT false;
ALTER TABLE core.articles ADD COLUMN access VARCHAR DEFAULT 'unknown';
