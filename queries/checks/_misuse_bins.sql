-- Helper SQL (not a check): run once per `forensics check` when a check's header says `-- needs: misuse_bins`,
-- after the runner has put the run's range in _check_range(lo, hi). One pass over check_traffic for all ten
-- protocol-misuse signatures: traffic per destination, 30-s bin (aligned to the clock) and the fields the
-- signatures test (kind, protocol, TCP flags, fragment, land), so each signature sums a few rows per bin
-- instead of scanning every packet again.
CREATE OR REPLACE TEMP TABLE _misuse_bins AS
SELECT t.dst_ip, time_bin(t.ts, 30) AS bin, t.kind, t.ip_proto, coalesce(t.tcp_flags, 0) AS tcp_flags,
       coalesce(t.frag_offset > 0 OR t.frag_flags & 1 = 1, false) AS frag, coalesce(t.src_ip = t.dst_ip, false) AS land,
       sum(t.bytes) AS bytes, sum(t.packets) AS packets
FROM check_traffic t, _check_range r
WHERE t.ts >= r.lo AND t.ts < r.hi
GROUP BY ALL;
