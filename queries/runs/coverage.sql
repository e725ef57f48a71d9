-- name: runs_coverage
-- description: What the case holds for each bin of a report window ($from_ts, $to_ts, $bin_secs), from the
--   captures' time ranges and the retention log (TEMP _retained), never from the traffic itself (a bin inside a
--   capture without packets is zero traffic):
--     packets  a capture holding packets spans the whole bin
--     flows    flow records span the whole bin: exported (unsampled), or built from packets since pruned
--     sampled  only sampled exports (sampling_rate > 1) span the whole bin
--     partial  some source covers part of the bin only
--     summary  only the 5-minute summary kept by `forensics retain` spans it ($summary: the report reads it;
--              else such a bin is none)
--     none     no source covers any of it
--   A source spans [first packet or flow start, last packet or flow end], from where retention left it.
--   Run: forensics report / reconstruct
WITH bins AS (
    SELECT unnest(range($from_ts::TIMESTAMP, $to_ts::TIMESTAMP, to_seconds($bin_secs::BIGINT))) AS bin
),
spans AS (
    -- packets held: from the capture's first packet, or from where retention removed the older ones
    SELECT 'packets' AS kind, greatest(c.first_ts, r.packets_before) AS lo, c.last_ts AS hi
    FROM captures c LEFT JOIN _retained r USING (capture_id)
    WHERE c.packets > 0 AND c.first_ts IS NOT NULL
    UNION ALL
    -- the flows built from a capture's packets: its whole range, from where retention removed the older ones
    SELECT 'flows', greatest(c.first_ts, r.flows_before), c.last_ts
    FROM captures c LEFT JOIN _retained r USING (capture_id)
    WHERE c.packets > 0 AND c.first_ts IS NOT NULL
    UNION ALL
    -- exported flow records per capture and sampling (TEMP _export_spans: forensics/reports/traffic.py, one
    -- scan of the flows shared with the report's data range)
    SELECT CASE WHEN sampled THEN 'sampled' ELSE 'flows' END, lo, hi
    FROM _export_spans
    UNION ALL
    -- the summary of what retention removed: the capture's whole range (held data is finer)
    SELECT 'summary', c.first_ts, c.last_ts
    FROM captures c JOIN _retained r USING (capture_id)
    WHERE $summary AND r.flows_before > c.first_ts
),
held AS (SELECT * FROM spans WHERE lo <= hi),
per_bin AS (
    SELECT b.bin,
           bool_or(s.kind = 'packets' AND s.lo <= b.bin AND s.hi >= b.bin + to_seconds($bin_secs::BIGINT)
                   - INTERVAL 1 MICROSECOND) AS packets_whole,
           bool_or(s.kind = 'flows' AND s.lo <= b.bin AND s.hi >= b.bin + to_seconds($bin_secs::BIGINT)
                   - INTERVAL 1 MICROSECOND) AS flows_whole,
           bool_or(s.kind = 'sampled' AND s.lo <= b.bin AND s.hi >= b.bin + to_seconds($bin_secs::BIGINT)
                   - INTERVAL 1 MICROSECOND) AS sampled_whole,
           bool_or(s.kind = 'summary' AND s.lo <= b.bin AND s.hi >= b.bin + to_seconds($bin_secs::BIGINT)
                   - INTERVAL 1 MICROSECOND) AS summary_whole,
           bool_or(s.lo IS NOT NULL) AS any_part
    FROM bins b
    LEFT JOIN held s ON s.lo < b.bin + to_seconds($bin_secs::BIGINT) AND s.hi >= b.bin
    GROUP BY b.bin
)
SELECT bin,
       CASE WHEN packets_whole THEN 'packets' WHEN flows_whole THEN 'flows' WHEN sampled_whole THEN 'sampled'
            WHEN summary_whole THEN 'summary' WHEN any_part THEN 'partial' ELSE 'none' END AS coverage
FROM per_bin
ORDER BY bin
