-- The articles whose versions may fall on the days publish writes ($days): every article with a
-- version observed on one of them. A version's row depends on its article's other versions
-- (numbering, what changed), so analytics.article_versions is read through all versions of these
-- articles: whole for them, without evaluating its window functions over the history (see
-- _narrowed in warehouse/publish.py).
SELECT DISTINCT article_key
FROM core.article_versions
WHERE coalesce(timezone('UTC', observed_at)::DATE, DATE '1970-01-01')
      IN (SELECT unnest($days::DATE[]))
