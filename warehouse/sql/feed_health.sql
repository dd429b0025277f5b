-- Per feed: its latest attempt, latest success, validators of the latest success, and the
-- number of failed attempts since the last success (a retry inside one run counts once).
WITH attempts AS (
    SELECT
        feed_id, run_id, occurred_at, error_class, not_modified, etag, last_modified,
        feed_title, feed_version, parse_outcome, retry_after_s, permanent_redirect, url,
        row_number() OVER (PARTITION BY feed_id, run_id ORDER BY attempt DESC, occurred_at DESC) AS rn
    FROM raw.feed_fetches
    WHERE list_contains($feeds, feed_id)
),
last_per_run AS (
    SELECT * EXCLUDE (rn) FROM attempts WHERE rn = 1
),
ok AS (
    SELECT * FROM last_per_run
    WHERE error_class IS NULL AND coalesce(parse_outcome, 'ok') NOT IN ('not_a_feed', 'empty_document', 'malformed', 'unsafe_xml', 'parse_timeout', 'parse_crash')
),
last_ok AS (
    SELECT feed_id, max(occurred_at) AS last_success_at FROM ok GROUP BY feed_id
),
untrusted AS (
    -- A server whose validators stay the same while the body changes cannot be trusted with
    -- conditional GET: poll that feed unconditionally (the body hash still dedups entries).
    SELECT DISTINCT feed_id
    FROM raw.feed_fetches
    WHERE list_contains($feeds, feed_id) AND error_class IS NULL AND NOT not_modified
      AND coalesce(etag, last_modified) IS NOT NULL
    GROUP BY feed_id, etag, last_modified
    HAVING count(DISTINCT body_sha256) > 1
),
bodies AS (
    SELECT feed_id, run_id, occurred_at, not_modified, body_sha256,
        lag(body_sha256 IGNORE NULLS) OVER (PARTITION BY feed_id ORDER BY occurred_at)
            AS previous_sha
    FROM raw.feed_fetches
    WHERE list_contains($feeds, feed_id) AND error_class IS NULL
),
contradicted AS (
    -- A 304 Not Modified followed, in the same run, by an unconditional fetch (the trust check)
    -- whose body differs from the last body before it: the 304 was a lie.
    SELECT b.feed_id, min(b.occurred_at) AS caught_at
    FROM bodies AS b
    WHERE NOT b.not_modified AND b.body_sha256 <> b.previous_sha
      AND EXISTS (SELECT 1 FROM bodies AS n
                  WHERE n.feed_id = b.feed_id AND n.run_id = b.run_id AND n.not_modified
                    AND n.occurred_at < b.occurred_at)
    GROUP BY b.feed_id
),
distrust AS (
    SELECT feed_id, string_agg(why, '; ' ORDER BY why) AS untrusted_why
    FROM (
        SELECT feed_id, '304 Not Modified contradicted by an unconditional fetch on '
            || strftime(timezone('UTC', caught_at), '%Y-%m-%d %H:%M') || ' UTC (the body had changed)'
            AS why
        FROM contradicted
        UNION ALL
        SELECT feed_id, 'ETag/Last-Modified unchanged while the body changed' FROM untrusted
    )
    GROUP BY feed_id
),
validators AS (
    SELECT feed_id,
        CASE WHEN feed_id IN (SELECT feed_id FROM distrust) THEN NULL
             ELSE arg_max(etag, occurred_at) END AS etag,
        CASE WHEN feed_id IN (SELECT feed_id FROM distrust) THEN NULL
             ELSE arg_max(last_modified, occurred_at) END AS last_modified,
        arg_max(feed_title, occurred_at) FILTER (WHERE feed_title IS NOT NULL) AS title,
        arg_max(feed_version, occurred_at) FILTER (WHERE feed_version IS NOT NULL) AS feed_version,
        -- FAULTS 20: where the feed lives, judged by the latest good fetch: the target of a
        -- permanent redirect, else the URL it was polled at; NULL when that is the configured
        -- URL (never moved, or moved back).
        arg_max_null(nullif(coalesce(permanent_redirect, url), c.configured_url), occurred_at)
            AS moved_to
    FROM ok LEFT JOIN (SELECT feed_id, url AS configured_url FROM core.feeds) AS c USING (feed_id)
    GROUP BY feed_id
),
latest AS (
    SELECT feed_id,
        max(occurred_at) AS last_attempt_at,
        arg_max(coalesce(error_class, CASE WHEN parse_outcome IN ('not_a_feed', 'empty_document', 'malformed', 'unsafe_xml', 'parse_timeout', 'parse_crash') THEN parse_outcome END), occurred_at) AS last_error_class,
        arg_max(retry_after_s, occurred_at) AS retry_after_s
    FROM last_per_run GROUP BY feed_id
),
failures AS (
    SELECT r.feed_id, count(*) AS consecutive_failures
    FROM last_per_run AS r
    LEFT JOIN last_ok AS o USING (feed_id)
    WHERE r.occurred_at > coalesce(o.last_success_at, '-infinity'::TIMESTAMPTZ)
      AND r.run_id NOT IN (SELECT run_id FROM ok WHERE ok.feed_id = r.feed_id)
    GROUP BY r.feed_id
),
entries AS (
    SELECT feed_id, count(DISTINCT entry_key) AS entries_seen,
        -- the newest 50, newest first (occurred_at is never NULL); max(x, n) keeps a top 50
        -- instead of sorting every entry the feed ever had (105k entries: 0.034 -> 0.024 CPU s)
        max(coalesce(published_at, occurred_at), 50) AS entry_times
    FROM raw.feed_entries WHERE list_contains($feeds, feed_id) GROUP BY feed_id
),
history AS (
    -- one attempt per run (the run's last), newest 20, failures include unusable bodies
    SELECT feed_id,
        list(struct_pack(
            occurred_at := occurred_at,
            error_class := coalesce(error_class, CASE WHEN parse_outcome IN ('not_a_feed', 'empty_document', 'malformed', 'unsafe_xml', 'parse_timeout', 'parse_crash') THEN parse_outcome END)
        ) ORDER BY occurred_at DESC)[:20] AS attempts
    FROM last_per_run GROUP BY feed_id
),
hints AS (
    SELECT feed_id,
        arg_max(ttl_minutes, occurred_at) FILTER (WHERE ttl_minutes IS NOT NULL) AS ttl_minutes,
        arg_max(headers->>'cache-control', occurred_at) FILTER (WHERE headers->>'cache-control' IS NOT NULL) AS cache_control,
        arg_max(struct_pack(expires := headers->>'expires', date := headers->>'date',
                            at := occurred_at), occurred_at)
            FILTER (WHERE headers->>'expires' IS NOT NULL) AS expires,
        -- how entries are keyed: 'link' once the feed's GUIDs were seen to churn (sticky)
        coalesce(arg_max(entry_identity, occurred_at) FILTER (WHERE entry_identity IS NOT NULL),
                 'guid') AS entry_identity
    FROM raw.feed_fetches WHERE list_contains($feeds, feed_id) GROUP BY feed_id
)
SELECT
    l.feed_id, l.last_attempt_at, o.last_success_at, l.last_error_class, l.retry_after_s,
    v.etag, v.last_modified, v.title, v.feed_version, v.moved_to,
    coalesce(f.consecutive_failures, 0) AS consecutive_failures,
    coalesce(e.entries_seen, 0) AS entries_seen,
    coalesce(e.entry_times, []) AS entry_times,
    h.attempts,
    k.ttl_minutes,
    k.cache_control,
    k.expires,
    k.entry_identity,
    d.untrusted_why,
    c.poll_minutes
FROM latest AS l
LEFT JOIN last_ok AS o USING (feed_id)
LEFT JOIN validators AS v USING (feed_id)
LEFT JOIN failures AS f USING (feed_id)
LEFT JOIN entries AS e USING (feed_id)
LEFT JOIN history AS h USING (feed_id)
LEFT JOIN hints AS k USING (feed_id)
LEFT JOIN distrust AS d USING (feed_id)
LEFT JOIN core.feeds AS c USING (feed_id)
ORDER BY l.feed_id
