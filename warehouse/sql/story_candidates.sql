-- Stories: the candidate pairs of the new articles in _story_new (article_key), found by the keys
-- stored when each article was signed (core.story_bands, core.story_names,
-- core.story_lead_words), as transforms.stories.candidates finds them in memory: a pair is a
-- candidate when the two are within $span_us microseconds of each other and share an LSH bucket,
-- or at least $enough names and numbers, or $nearly of them while from two outlets within
-- $hours_us whose leads share at least $lead_words keywords (the rest of that rule, names spelled
-- differently, is judged in Python). Each pair once: from its new side, from the smaller key when
-- both are new. $lo/$hi bound the stored articles read (the new ones' times -/+ the span),
-- $new_lo/$new_hi the new ones' own keys (their times: stored just before, with these times).
WITH new AS (
    SELECT DISTINCT article_key FROM _story_new
),
mine_bands AS (  -- the new ones' own times bound the scan (row groups of older times skipped)
    SELECT * FROM core.story_bands SEMI JOIN new USING (article_key)
    WHERE event_at BETWEEN $new_lo AND $new_hi
),
their_bands AS (
    SELECT * FROM core.story_bands WHERE event_at BETWEEN $lo AND $hi
),
bucket_pairs AS (
    SELECT DISTINCT m.article_key, o.article_key AS other_key, true AS bucket
    FROM mine_bands AS m
    JOIN their_bands AS o ON o.band = m.band AND o.bucket = m.bucket
    WHERE o.article_key <> m.article_key
      AND abs(epoch_us(o.event_at) - epoch_us(m.event_at)) <= $span_us
),
mine_names AS (
    SELECT * FROM core.story_names SEMI JOIN new USING (article_key)
    WHERE event_at BETWEEN $new_lo AND $new_hi
),
their_names AS (
    SELECT * FROM core.story_names WHERE event_at BETWEEN $lo AND $hi
),
name_pairs AS (
    SELECT
        m.article_key,
        o.article_key AS other_key,
        count(*) AS names,
        any_value(m.outlet IS DISTINCT FROM o.outlet
                  AND abs(epoch_us(o.event_at) - epoch_us(m.event_at)) <= $hours_us) AS may_event
    FROM mine_names AS m
    JOIN their_names AS o ON o.name = m.name
    WHERE o.article_key <> m.article_key
      AND abs(epoch_us(o.event_at) - epoch_us(m.event_at)) <= $span_us
    GROUP BY m.article_key, o.article_key
    HAVING count(*) >= $nearly
),
pairs AS (
    SELECT
        article_key,
        other_key,
        coalesce(b.bucket, false) AS bucket,
        coalesce(n.names, 0) AS names,
        coalesce(n.may_event, false) AS may_event
    FROM bucket_pairs AS b
    FULL JOIN name_pairs AS n USING (article_key, other_key)
),
kept AS (
    SELECT * FROM pairs
    WHERE (bucket OR names >= $enough OR may_event)
      AND (article_key < other_key OR other_key NOT IN (SELECT article_key FROM new))
),
-- one name fewer: the two leads must share enough keywords
lead_ok AS (
    SELECT k.article_key, k.other_key
    FROM kept AS k
    JOIN core.story_lead_words AS a ON a.article_key = k.article_key
    JOIN core.story_lead_words AS b ON b.article_key = k.other_key AND b.word = a.word
    WHERE NOT k.bucket AND k.names < $enough
    GROUP BY k.article_key, k.other_key
    HAVING count(*) >= $lead_words
)
SELECT k.article_key, k.other_key, k.bucket, k.names
FROM kept AS k
WHERE k.bucket OR k.names >= $enough OR $lead_words <= 0
   OR (k.article_key, k.other_key) IN (SELECT (article_key, other_key) FROM lead_ok)
ORDER BY k.article_key, k.other_key;
