-- Helper SQL for the checks (files starting with "_" are not checks). Before any check runs, the check
-- runner creates the report context on the connection (queries/reports/_context.sql: _nets, _apps, is_home,
-- in_net, proto_name, ... and the schema macros ip_text, time_bin) and these TEMP tables from the case config:
--   _check_overrides(chk, subnet, lo, hi, key, value)
--        per-subnetwork thresholds: [checks.<check>.subnetworks.<subnetwork>] bps = ..., pps = ...
--   _app_signatures(name, proto, len_lo, len_hi, src_lo, src_hi, dst_lo, dst_hi, sport_lo, sport_hi,
--                   dport_lo, dport_hi, flags_mask, flags_value, per, bps, pps)
--        the user's application-anomaly signatures: [checks.app_anomaly.signatures.<name>] (NULL = any)
-- then runs this file, which defines:
--   check_traffic                 one row per packet held, plus one per exported flow record (NetFlow, IPFIX,
--                                 sFlow, flow files: source <> 'pcap'; flows derived from the packets are not
--                                 added again). A flow counts at its first_ts with its (scaled) packets and bytes.
--   misuse_match(sig, ...)        whether a row belongs to protocol-misuse signature `sig`
--   misuse_evidence(sig, ip)      the tcpdump expression selecting signature `sig` towards address `ip`
--   limit_text(x)                 a limit in an alert's text, written alike by every engine
--   misuse_alerts(sig, from_ts, to_ts, home_bps, home_pps, other_bps, other_pps)
--                                 the alerts of one protocol-misuse signature (GenieATM's rule, below), read
--                                 from _misuse_bins, which _misuse_bins.sql fills once per run for the checks
--                                 whose header says `-- needs: misuse_bins`
-- and, for the checks whose header says `-- needs: check_rows` (a SQL check of your own may say it too),
--   _check_rows                   check_traffic of the run's range (plus a minute either side, in_range marks the
--                                 range) summed per clock second and 5-tuple, flags, ICMP type, with first_ts,
--                                 last_ts, bytes, packets, src_home, dst_home (queries/checks/_check_rows.sql)

CREATE OR REPLACE TEMP VIEW check_traffic AS
SELECT 'packet' AS kind, ts, src_ip, dst_ip, ip_proto, src_port, dst_port, tcp_flags, icmp_type,
       frag_offset, frag_flags, CAST(coalesce(ip_len, wirelen) AS BIGINT) AS bytes, CAST(1 AS BIGINT) AS packets
FROM packets
WHERE ip_version IS NOT NULL
UNION ALL
SELECT 'flow', first_ts, src_ip, dst_ip, ip_proto, src_port, dst_port, tcp_flags, icmp_type,
       NULL, NULL, CAST(coalesce(bytes_scaled, bytes) AS BIGINT), CAST(coalesce(packets_scaled, packets) AS BIGINT)
FROM flows
WHERE source <> 'pcap';

-- The ten signatures, over the rows of _misuse_bins (below): k kind, p protocol, f TCP flags, frag (a fragment),
-- land (source = destination). Flags: FIN 1, SYN 2, RST 4, ACK 16. Fragments and impossible flag combinations
-- need packets (an exported flow holds only the OR of its packets' flags and no fragment fields).
CREATE OR REPLACE TEMP MACRO misuse_match(sig, k, p, f, frag, land) AS
    CASE sig
        WHEN 'syn_flood' THEN p = 6 AND f & 18 = 2                        -- SYN without ACK
        WHEN 'ip_proto_null' THEN p = 0
        WHEN 'tcp_flag_misuse' THEN k = 'packet' AND p = 6
             AND (f & 255 = 0 OR f & 3 = 3 OR f & 6 = 6 OR f & 17 = 1)    -- none, SYN+FIN, SYN+RST, FIN w/o ACK
        WHEN 'tcp_fragment' THEN k = 'packet' AND p = 6 AND frag
        WHEN 'udp_fragment' THEN k = 'packet' AND p = 17 AND frag
        WHEN 'icmp_misuse' THEN p IN (1, 58)
        WHEN 'land_attack' THEN p = 6 AND f & 18 = 2 AND land
        WHEN 'rst_flood' THEN p = 6 AND f & 4 = 4 AND (k = 'packet' OR f & 2 = 0)
        WHEN 'udp_flood' THEN p = 17
        WHEN 'host_total' THEN true
        ELSE false
    END;

-- Fragments: the filter language has no fragment primitive, so their evidence is the protocol towards
-- the host (a superset, within the alert's window).
CREATE OR REPLACE TEMP MACRO misuse_evidence(sig, ip) AS
    CASE sig
        WHEN 'syn_flood' THEN 'dst host ' || ip || ' and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'
        WHEN 'ip_proto_null' THEN 'dst host ' || ip || ' and proto 0'
        WHEN 'tcp_flag_misuse' THEN 'dst host ' || ip || ' and (tcp[tcpflags] & 0xff == 0 or tcp[tcpflags] & 3 == 3'
             || ' or tcp[tcpflags] & 6 == 6 or tcp[tcpflags] & 0x11 == 1)'
        WHEN 'tcp_fragment' THEN 'dst host ' || ip || ' and tcp'
        WHEN 'udp_fragment' THEN 'dst host ' || ip || ' and udp'
        WHEN 'icmp_misuse' THEN 'dst host ' || ip || ' and (icmp or icmp6)'
        WHEN 'land_attack' THEN 'src host ' || ip || ' and dst host ' || ip || ' and tcp[tcpflags] & tcp-syn != 0'
        WHEN 'rst_flood' THEN 'dst host ' || ip || ' and tcp[tcpflags] & tcp-rst != 0'
        WHEN 'udp_flood' THEN 'dst host ' || ip || ' and udp'
        ELSE 'dst host ' || ip
    END;

-- Empty until _misuse_bins.sql fills it for a run (the macro below needs the table to exist).
CREATE OR REPLACE TEMP TABLE _misuse_bins (dst_ip UHUGEINT, bin TIMESTAMP, kind VARCHAR, ip_proto UTINYINT,
    tcp_flags USMALLINT, frag BOOLEAN, land BOOLEAN, bytes HUGEINT, packets HUGEINT);

-- limit_text(x): a limit (DOUBLE) in an alert's text, the same on every engine: a whole number without a fraction
-- (2000000000, where a DOUBLE cast to text is 2000000000.0 on DuckDB and 2.0E9 on Spark), else the cast
CREATE OR REPLACE TEMP MACRO limit_text(x) AS CASE WHEN x = round(x) THEN printf('%.0f', x) ELSE CAST(x AS VARCHAR) END;

-- GenieATM's rule: per destination IP, the traffic matching the signature is averaged over 30-second bins
-- aligned to the clock; a bin is over when its bps or its pps exceeds the limit (a limit of 0 is off; either
-- triggers when both are set). Two or more consecutive bins over make one alert: window = those bins, value =
-- the peak 30-s average in the unit that triggered (pps when both did). Limits: home_* for destinations in
-- the home networks, other_* for the rest; a [checks.<sig>.subnetworks.<name>] entry (bps, pps) overrides
-- both for the destinations in that subnetwork (the most specific block wins). `series` holds the bins from
-- one minute before the window to 30 s after it, in the unit that triggered.
CREATE OR REPLACE TEMP MACRO misuse_alerts(sig, from_ts, to_ts, home_bps, home_pps, other_bps, other_pps) AS TABLE
WITH per_bin AS (
    SELECT dst_ip, bin, CAST(sum(bytes) AS DOUBLE) * 8 / 30 AS bps, CAST(sum(packets) AS DOUBLE) / 30 AS pps
    FROM _misuse_bins
    WHERE bin >= time_bin(from_ts, 30) AND bin < to_ts AND misuse_match(sig, kind, ip_proto, tcp_flags, frag, land)
    GROUP BY ALL
),
limits AS (  -- an override's block holding the address, the smallest first (a join: Spark runs it too)
    SELECT d.dst_ip, is_home(d.dst_ip) AS home,
           coalesce(arg_min(o.value, o.hi - o.lo) FILTER (WHERE o.key = 'bps'),
                    CASE WHEN is_home(d.dst_ip) THEN home_bps ELSE other_bps END) AS bps_limit,
           coalesce(arg_min(o.value, o.hi - o.lo) FILTER (WHERE o.key = 'pps'),
                    CASE WHEN is_home(d.dst_ip) THEN home_pps ELSE other_pps END) AS pps_limit
    FROM (SELECT DISTINCT dst_ip FROM per_bin) d
    LEFT JOIN _check_overrides o ON o.chk = sig AND d.dst_ip BETWEEN o.lo AND o.hi
    GROUP BY d.dst_ip
),
judged AS (
    SELECT p.*, l.home, l.bps_limit, l.pps_limit,
           coalesce(l.bps_limit > 0 AND p.bps > l.bps_limit, false) AS over_bps,
           coalesce(l.pps_limit > 0 AND p.pps > l.pps_limit, false) AS over_pps
    FROM per_bin p JOIN limits l USING (dst_ip)
),
over AS (
    SELECT *, CAST(epoch(bin) AS BIGINT) // 30 - row_number() OVER (PARTITION BY dst_ip ORDER BY bin) AS island
    FROM judged
    WHERE over_bps OR over_pps
),
runs AS (
    SELECT dst_ip, island, any_value(home) AS home, min(bin) AS window_start,
           max(bin) + INTERVAL 30 SECOND AS window_end, count(*) AS bins, max(pps) AS peak_pps, max(bps) AS peak_bps,
           any_value(pps_limit) AS pps_limit, any_value(bps_limit) AS bps_limit, bool_or(over_pps) AS by_pps
    FROM over
    GROUP BY dst_ip, island
    HAVING count(*) >= 2
),
series AS (  -- each run's bins from a minute before it to its end, in the unit that triggered
    SELECT r.dst_ip, r.island,
           list({'t': j.bin, 'v': CASE WHEN r.by_pps THEN j.pps ELSE j.bps END} ORDER BY j.bin) AS series
    FROM runs r
    JOIN judged j ON j.dst_ip = r.dst_ip AND j.bin >= r.window_start - INTERVAL 60 SECOND AND j.bin <= r.window_end
    GROUP BY r.dst_ip, r.island
)
SELECT ip_text(r.dst_ip) AS entity, r.window_start, r.window_end,
       CASE WHEN r.by_pps THEN r.peak_pps ELSE r.peak_bps END AS value,
       CASE WHEN r.by_pps THEN r.pps_limit ELSE r.bps_limit END AS threshold,
       CASE WHEN r.by_pps THEN 'pps' ELSE 'bps' END AS unit,
       printf('%s to %s (%s) above the limit in %d consecutive 30-s bins: peak %.1f pps, %.0f bps (limits: %s pps, %s bps)',
              sig, ip_text(r.dst_ip), CASE WHEN r.home THEN 'home' ELSE 'non-home' END, r.bins, r.peak_pps,
              r.peak_bps, CASE WHEN r.pps_limit > 0 THEN limit_text(r.pps_limit) ELSE 'off' END,
              CASE WHEN r.bps_limit > 0 THEN limit_text(r.bps_limit) ELSE 'off' END) AS detail,
       misuse_evidence(sig, ip_text(r.dst_ip)) AS evidence,
       s.series
FROM runs r
LEFT JOIN series s ON s.dst_ip = r.dst_ip AND s.island = r.island
ORDER BY r.window_start, entity;
