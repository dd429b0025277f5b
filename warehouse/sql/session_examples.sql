-- The examples the `newsflow sql` banner shows, one statement per line; each must answer on the
-- published copy (tests/flows/test_analyst_surface.py runs them).
SELECT outlet, count(*) AS articles FROM analytics.articles GROUP BY ALL ORDER BY 2 DESC;
SELECT rank, outlet, title FROM analytics.search('election results') LIMIT 5;
SELECT headline, first_outlet, outlets FROM analytics.stories ORDER BY outlets DESC LIMIT 5;
DESCRIBE analytics.stories;
SELECT * FROM analytics.published;
