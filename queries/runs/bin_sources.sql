-- name: runs_bin_sources
-- description: Which kinds of source overlap each bin of a report window ($from_ts, $to_ts, $bin_secs): a capture
--   holding packets (packets: its first to last packet) and exported flow records (exports: first start to last
--   end per file). The basis of a bin (forensics/reports/coverage.py) follows from these and the bin's coverage:
--   a partial bin is binned by packet time when packets overlap it, by flow start otherwise.
--   Run: forensics report / reconstruct
WITH bins AS (
    SELECT unnest(range($from_ts::TIMESTAMP, $to_ts::TIMESTAMP, to_seconds($bin_secs::BIGINT))) AS bin
),
spans AS (
    SELECT 'packets' AS kind, first_ts AS lo, last_ts AS hi FROM captures WHERE packets > 0 AND first_ts IS NOT NULL
    UNION ALL
    SELECT 'exports', min(lo), max(hi) FROM _export_spans GROUP BY capture_id  -- forensics/reports/traffic.py
)
SELECT b.bin, coalesce(bool_or(s.kind = 'packets'), false) AS packets,
       coalesce(bool_or(s.kind = 'exports'), false) AS exports
FROM bins b
LEFT JOIN spans s ON s.lo < b.bin + to_seconds($bin_secs::BIGINT) AND s.hi >= b.bin
GROUP BY b.bin
ORDER BY b.bin
