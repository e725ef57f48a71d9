-- name: retain_plan
-- description: What a retention would remove: per table, the rows before its cutoff, the 5-minute bins and the
--   captures they belong to. $packets_cutoff: packet rows with ts before it go; $flows_cutoff (NULL: none)
--   flow records starting before it go. Run: forensics retain --dry-run
SELECT 'packets' AS "table", count(*) AS "rows", count(DISTINCT time_bin(ts, 300)) AS bins,
       list(DISTINCT capture_id ORDER BY capture_id) FILTER (WHERE capture_id IS NOT NULL) AS captures,
       min(ts) AS first_ts, max(ts) AS last_ts
FROM packet_rows
WHERE ts < $packets_cutoff
UNION ALL
SELECT 'flows', count(*), count(DISTINCT time_bin(first_ts, 300)),
       list(DISTINCT capture_id ORDER BY capture_id) FILTER (WHERE capture_id IS NOT NULL), min(first_ts),
       max(first_ts)
FROM flows
WHERE first_ts < $flows_cutoff
