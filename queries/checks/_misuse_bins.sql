-- Helper SQL (not a check): run once per `forensics check` when a check's header says `-- needs: misuse_bins`,
-- after _check_rows.sql (those checks need check_rows too; the runner builds check_rows first). One pass over
-- the run's per-second rows for all ten protocol-misuse signatures: traffic per destination, 30-s bin (aligned
-- to the clock) and the fields the signatures test (kind, protocol, TCP flags, fragment, land), so each
-- signature sums a few rows per bin instead of scanning every packet again. A 30-s bin holds whole seconds,
-- so summing _check_rows (1/3 of the packets' rows on the bench capture) gives the packets' sums.
CREATE OR REPLACE TEMP TABLE _misuse_bins AS
SELECT t.dst_ip, time_bin(t.sec, 30) AS bin, t.kind, t.ip_proto, coalesce(t.tcp_flags, 0) AS tcp_flags, t.frag,
       coalesce(t.src_ip = t.dst_ip, false) AS land, sum(t.bytes) AS bytes, sum(t.packets) AS packets
FROM _check_rows t
WHERE t.in_range
GROUP BY ALL;
