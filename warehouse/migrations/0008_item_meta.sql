-- Issue 17: every feed item visible. A page that gives no article text (paywall, consent wall,
-- bot challenge, JS shell, too short, ...) still tells its title, authors, date, outlet and
-- description; they are kept on its extraction outcome so analytics.items can show the item with
-- its page class and reason. Outcomes recorded before this migration carry none of it (NULL) and
-- their access is unknown. (No column DEFAULT: DuckLake cannot add a column with one.)
ALTER TABLE core.page_extractions ADD COLUMN title VARCHAR;
ALTER TABLE core.page_extractions ADD COLUMN authors VARCHAR[];
ALTER TABLE core.page_extractions ADD COLUMN page_published_at TIMESTAMPTZ;
ALTER TABLE core.page_extractions ADD COLUMN page_published_source VARCHAR;
ALTER TABLE core.page_extractions ADD COLUMN site_name VARCHAR;
ALTER TABLE core.page_extractions ADD COLUMN description VARCHAR;
ALTER TABLE core.page_extractions ADD COLUMN access VARCHAR;
UPDATE core.page_extractions SET access = 'unknown';
