-- Helper SQL (not a check): run once per `forensics check` when a check's header says `-- needs: check_rows`,
-- after the runner has put the run's range in _check_range(lo, hi). One pass over check_traffic, shared by the
-- per-host checks (after_hours, host_sweep, port_scan, syn_scan, traffic_threshold, unexpected_server) and
-- _misuse_bins.sql: the rows of each (kind, addresses, protocol, ports, TCP flags, ICMP type, fragment or not)
-- within one clock second, summed, with
-- their first and last packet time, and whether each address is in the home networks (is_home once per
-- summed row, not per packet: it was most of after_hours' time). A bin of a whole number of seconds holds a row
-- exactly when it holds its packets' second, so per-minute (or any whole-second) counts, distinct counts, sums,
-- first and last times equal those over the packets. It covers the range plus one minute either side (syn_scan
-- looks for answers there); in_range marks the rows inside [lo, hi) exactly.
CREATE OR REPLACE TEMP TABLE _check_rows AS
SELECT *, is_home(src_ip) AS src_home, is_home(dst_ip) AS dst_home
FROM (
    SELECT t.kind, t.ts >= r.lo AND t.ts < r.hi AS in_range, date_trunc('second', t.ts) AS sec,
           min(t.ts) AS first_ts, max(t.ts) AS last_ts, t.src_ip, t.dst_ip, t.ip_proto, t.src_port, t.dst_port,
           t.tcp_flags, t.icmp_type, coalesce(t.frag_offset > 0 OR t.frag_flags & 1 = 1, false) AS frag,
           sum(t.bytes) AS bytes, sum(t.packets) AS packets
    FROM check_traffic t, _check_range r
    WHERE t.ts >= r.lo - INTERVAL 1 MINUTE AND t.ts < r.hi + INTERVAL 1 MINUTE
    GROUP BY t.kind, in_range, sec, t.src_ip, t.dst_ip, t.ip_proto, t.src_port, t.dst_port, t.tcp_flags, t.icmp_type,
             frag
);
