-- name: retain_bins
-- description: How many distinct 5-minute bins lose packet rows (before $packets_cutoff) or flow records
--   (starting before $flows_cutoff), both tables together. Run: forensics retain --dry-run
SELECT count(*) AS bins FROM (
    SELECT time_bin(ts, 300) AS bin FROM packet_rows WHERE ts < $packets_cutoff
    UNION
    SELECT time_bin(first_ts, 300) FROM flows WHERE first_ts < $flows_cutoff
)
