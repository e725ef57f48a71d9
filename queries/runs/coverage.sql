-- name: runs_coverage
-- description: What the case holds for each bin of a report window ($from_ts, $to_ts, $bin_secs), from the
--   captures' time ranges, never from the traffic itself (a bin inside a capture without packets is zero traffic):
--     packets  a capture holding packets spans the whole bin
--     flows    exported flow records (unsampled) span the whole bin, no capture of packets does
--     sampled  only sampled exports (sampling_rate > 1) span the whole bin
--     partial  some source covers part of the bin only
--     none     no source covers any of it
--   A source spans [first packet or flow start, last packet or flow end]. Run: forensics report / reconstruct
WITH bins AS (
    SELECT unnest(range($from_ts::TIMESTAMP, $to_ts::TIMESTAMP, to_seconds($bin_secs::BIGINT))) AS bin
),
spans AS (
    SELECT 'packets' AS kind, first_ts AS lo, last_ts AS hi FROM captures WHERE packets > 0 AND first_ts IS NOT NULL
    UNION ALL
    SELECT CASE WHEN max(sampling_rate) > 1 THEN 'sampled' ELSE 'flows' END, min(first_ts), max(last_ts)
    FROM flows WHERE source <> 'pcap' GROUP BY capture_id, sampling_rate > 1
),
per_bin AS (
    SELECT b.bin,
           bool_or(s.kind = 'packets' AND s.lo <= b.bin AND s.hi >= b.bin + to_seconds($bin_secs::BIGINT)
                   - INTERVAL 1 MICROSECOND) AS packets_whole,
           bool_or(s.kind = 'flows' AND s.lo <= b.bin AND s.hi >= b.bin + to_seconds($bin_secs::BIGINT)
                   - INTERVAL 1 MICROSECOND) AS flows_whole,
           bool_or(s.kind = 'sampled' AND s.lo <= b.bin AND s.hi >= b.bin + to_seconds($bin_secs::BIGINT)
                   - INTERVAL 1 MICROSECOND) AS sampled_whole,
           bool_or(s.lo IS NOT NULL) AS any_part
    FROM bins b
    LEFT JOIN spans s ON s.lo < b.bin + to_seconds($bin_secs::BIGINT) AND s.hi >= b.bin
    GROUP BY b.bin
)
SELECT bin,
       CASE WHEN packets_whole THEN 'packets' WHEN flows_whole THEN 'flows' WHEN sampled_whole THEN 'sampled'
            WHEN any_part THEN 'partial' ELSE 'none' END AS coverage
FROM per_bin
ORDER BY bin
