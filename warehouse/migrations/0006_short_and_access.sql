-- Issue 17: a short brief kept as an article (is_short: under the extractor's length floor, on a
-- page with article markup, a headline and a date), and whether the text is the whole article
-- (access: free, paywalled (a teaser: isAccessibleForFree false or a text that stops at a
-- subscription prompt) or unknown). Older versions were never short; their access is unknown.
-- (No column DEFAULT: DuckLake cannot add a column with one; every writer sets both values.)
ALTER TABLE core.article_versions ADD COLUMN is_short BOOLEAN;
ALTER TABLE core.article_versions ADD COLUMN access VARCHAR;
ALTER TABLE core.articles ADD COLUMN is_short BOOLEAN;
ALTER TABLE core.articles ADD COLUMN access VARCHAR;
UPDATE core.article_versions SET is_short = false, access = 'unknown';
UPDATE core.articles SET is_short = false, access = 'unknown';
