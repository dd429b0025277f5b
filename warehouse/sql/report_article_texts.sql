-- newsflow search: the text of the articles found, for their snippets.
SELECT article_key, text
FROM analytics.articles
WHERE article_key IN (SELECT unnest($keys::VARCHAR[]))
