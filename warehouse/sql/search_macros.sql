-- Full-text search over analytics.articles: tokenizer, stopwords and the BM25 table macro.
-- Created by warehouse.search.install_search() after the fts extension is loaded (the macros
-- call its stem() function, and DuckDB binds macros when they are created). A session that calls
-- analytics.search() must LOAD the extension first; `newsflow sql` and `newsflow search` do.

-- Words of no topic, dropped before indexing. The same list as transforms.tokens.STOPWORDS (a
-- test keeps the two equal).
CREATE OR REPLACE MACRO core.search_stopwords() AS [
    'a', 'about', 'above', 'after', 'again', 'against', 'all', 'also', 'am', 'an', 'and',
    'any', 'are', 'as', 'at', 'be', 'because', 'been', 'before', 'being', 'below', 'between',
    'both', 'but', 'by', 'can', 'could', 'did', 'do', 'does', 'doing', 'down', 'during',
    'each', 'few', 'for', 'from', 'further', 'had', 'has', 'have', 'having', 'he', 'her',
    'here', 'hers', 'herself', 'him', 'himself', 'his', 'how', 'i', 'if', 'in', 'into', 'is',
    'it', 'its', 'itself', 'just', 'me', 'more', 'most', 'my', 'myself', 'no', 'nor', 'not',
    'now', 'of', 'off', 'on', 'once', 'only', 'or', 'other', 'our', 'ours', 'ourselves', 'out',
    'over', 'own', 's', 'said', 'same', 'says', 'she', 'should', 'so', 'some', 'such', 't',
    'than', 'that', 'the', 'their', 'theirs', 'them', 'themselves', 'then', 'there', 'these',
    'they', 'this', 'those', 'through', 'to', 'too', 'under', 'until', 'up', 'very', 'was',
    'we', 'were', 'what', 'when', 'where', 'which', 'while', 'who', 'whom', 'why', 'will',
    'with', 'would', 'you', 'your', 'yours', 'yourself', 'yourselves'
];

-- Terms of a string: lower-cased, accent-folded runs of letters and digits (the rule of
-- transforms.tokens.words), stopwords and absurdly long tokens dropped, then Porter-stemmed.
CREATE OR REPLACE MACRO core.search_tokens(s) AS list_transform(
    list_filter(
        regexp_extract_all(lower(strip_accents(coalesce(s, ''))), '[\p{L}\p{N}]+'),
        w -> length(w) <= 40 AND NOT list_contains(core.search_stopwords(), w)
    ),
    w -> stem(w, 'porter')
);

-- analytics.search(q): articles ranked by BM25 (k1 = 1.2, b = 0.75) over title and text, the
-- title counting twice. Each field has its own document frequencies and average length; a
-- document's score is the weighted sum over the fields. Every article matching at least one
-- query term is returned, best first; matched_terms/query_terms tell partial matches apart.
CREATE OR REPLACE MACRO analytics.search(q) AS TABLE
WITH query_terms AS (
    SELECT DISTINCT unnest(core.search_tokens(q)) AS term
),
corpus AS (
    SELECT
        count(*)::DOUBLE AS n_docs,
        greatest(avg(title_len), 1.0) AS avg_title_len,
        greatest(avg(text_len), 1.0) AS avg_text_len
    FROM core.search_docs
),
hits AS (
    SELECT t.article_key, t.field, t.term, t.tf
    FROM core.search_terms AS t
    SEMI JOIN query_terms AS q USING (term)
),
doc_freq AS (
    SELECT field, term, count(*)::DOUBLE AS df
    FROM hits
    GROUP BY ALL
),
term_scores AS (
    SELECT
        h.article_key,
        h.term,
        CASE h.field WHEN 'title' THEN 2.0 ELSE 1.0 END
        * ln(1 + (c.n_docs - f.df + 0.5) / (f.df + 0.5))
        * h.tf * (1.2 + 1)
        / (h.tf + 1.2 * (1 - 0.75 + 0.75 * CASE h.field
              WHEN 'title' THEN d.title_len / c.avg_title_len
              ELSE d.text_len / c.avg_text_len END)) AS score
    FROM hits AS h
    JOIN doc_freq AS f USING (field, term)
    JOIN core.search_docs AS d USING (article_key)
    CROSS JOIN corpus AS c
),
ranked AS (
    SELECT
        article_key,
        sum(score) AS score,
        count(DISTINCT term) AS matched_terms,
        list(DISTINCT term) AS terms
    FROM term_scores
    GROUP BY article_key
),
final AS (
    SELECT
        row_number() OVER (ORDER BY r.score DESC, r.article_key) AS rank,
        round(r.score, 4) AS score,
        r.matched_terms,
        (SELECT count(*) FROM query_terms) AS query_terms,
        a.article_key,
        a.outlet,
        a.published_at,
        a.title,
        -- A window of the text around the earliest matched term (stems are word prefixes
        -- in most cases; otherwise the text's start).
        substring(
            a.text,
            greatest(1, coalesce(list_min(list_transform(r.terms,
                t -> nullif(instr(lower(strip_accents(a.text)), t), 0))), 1) - 60),
            200
        ) AS snippet,
        a.url
    FROM ranked AS r
    JOIN analytics.articles AS a USING (article_key)
)
SELECT * FROM final
ORDER BY rank;
