-- Days of a range that an earlier backfill run settled as done, with their counts.
SELECT day, expected, obtained, failed, new_rows
FROM raw.backfill_days
WHERE source = $s AND origin = $o AND status = 'done' AND day BETWEEN $a AND $b
ORDER BY day, occurred_at
