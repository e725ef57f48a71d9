-- name: runs_dropped_bins
-- description: Bins of a report window ($from_ts, $to_ts, $bin_secs) within the time range of a source known to
--   have dropped, which coverage then calls `partial` (forensics/reports/coverage.py):
--     a pcapng interface whose last Interface Statistics Block counts drops (isb_ifdrop + isb_osdrop > 0): its
--       range is [isb_starttime, isb_endtime], each end defaulting to the capture's first / last packet (the
--       counters run from the start of the capture, so the drops may lie anywhere in it);
--     a NetFlow/IPFIX sequence gap: [before_ts, after_ts], the export times of the datagrams around it (the
--       lost datagrams were sent between them; the flows they held may have started earlier, by up to the
--       exporter's active timeout, which the case does not know).
--   A bin overlaps a range when the range starts before the bin ends and ends at or after the bin's start.
--   Run: forensics report / reconstruct
WITH bins AS (
    SELECT unnest(range($from_ts::TIMESTAMP, $to_ts::TIMESTAMP, to_seconds($bin_secs::BIGINT))) AS bin
),
spans AS (
    SELECT coalesce(i.isb_starttime, c.first_ts) AS lo, coalesce(i.isb_endtime, c.last_ts) AS hi
    FROM interfaces i JOIN captures c USING (capture_id)
    WHERE coalesce(i.isb_ifdrop, 0) + coalesce(i.isb_osdrop, 0) > 0
    UNION ALL
    SELECT before_ts, after_ts FROM flow_sequence_gaps
)
SELECT DISTINCT b.bin
FROM bins b JOIN spans s ON s.lo < b.bin + to_seconds($bin_secs::BIGINT) AND s.hi >= b.bin
ORDER BY b.bin
