-- newsflow quality: quarantined rows by table and reason since a day.
SELECT table_name, reason, count(*) AS rows
FROM analytics.quarantine
WHERE quarantined_at >= $since
GROUP BY ALL
ORDER BY rows DESC
