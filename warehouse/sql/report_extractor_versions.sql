-- The extractor versions that produced page extractions (ordered in Python: digits as numbers).
SELECT DISTINCT extractor_version FROM core.page_extractions
