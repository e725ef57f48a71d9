-- name: retain_summary
-- description: The per-5-minute summary written before rows go (forensics retain): for every capture and
--   5-minute bin that loses rows now ($level 'packets': packet rows before $cutoff; 'flows': also flow records
--   starting before it) and has no summary yet, what the reports' traffic() counted there, by the zones of the
--   two ends relative to home, IP version and protocol. Pieces as in queries/reports/_context.sql traffic():
--   IP packets with both addresses by their own time (IP-layer bytes), flows in the bin of their start (a flow
--   built from packets adds only its count while its packets are held; exported flows their scaled bytes and
--   packets). Needs the report context (is_home, is_special, packets_gone_before). Run: forensics retain
INSERT INTO traffic_summary
WITH gone AS (  -- (capture, bin) losing rows now
    SELECT DISTINCT capture_id, time_bin(ts, 300) AS bin FROM packet_rows WHERE ts < $cutoff
    UNION
    SELECT DISTINCT capture_id, time_bin(first_ts, 300) FROM flows WHERE $level = 'flows' AND first_ts < $cutoff
),
todo AS (  -- ... and not summarised by an earlier retention
    SELECT g.capture_id, g.bin FROM gone g
    WHERE NOT EXISTS (SELECT 1 FROM traffic_summary s WHERE s.capture_id = g.capture_id AND s.bin = g.bin)
),
pieces AS (
    SELECT p.capture_id, time_bin(p.ts, 300) AS bin, p.ip_version, p.src_ip, p.dst_ip, p.ip_proto,
           coalesce(p.ip_len, 0) AS bytes, 1 AS packets, 0 AS flows, true AS from_packets
    FROM packets p
    WHERE p.ts < $cutoff AND p.ip_version IS NOT NULL AND p.src_ip IS NOT NULL AND p.dst_ip IS NOT NULL
    UNION ALL
    SELECT f.capture_id, time_bin(f.first_ts, 300), f.ip_version, f.src_ip, f.dst_ip, f.ip_proto,
           CASE WHEN f.source = 'pcap' AND NOT coalesce(f.last_ts < packets_gone_before(f.capture_id), false)
                THEN 0 ELSE coalesce(f.bytes_scaled, f.bytes) END,
           CASE WHEN f.source = 'pcap' AND NOT coalesce(f.last_ts < packets_gone_before(f.capture_id), false)
                THEN 0 ELSE coalesce(f.packets_scaled, f.packets) END,
           1, false
    FROM flows f
    WHERE f.first_ts < $cutoff
),
zoned AS (
    SELECT p.capture_id, p.bin, p.ip_version, p.ip_proto, p.bytes, p.packets, p.flows, p.from_packets,
           CASE WHEN is_home(p.src_ip) THEN 'home' WHEN is_special(p.src_ip) THEN 'special' ELSE 'internet' END
               AS src_zone,
           CASE WHEN is_home(p.dst_ip) THEN 'home' WHEN is_special(p.dst_ip) THEN 'special' ELSE 'internet' END
               AS dst_zone
    FROM pieces p
    JOIN todo t ON t.capture_id = p.capture_id AND t.bin = p.bin
),
basis AS (  -- packets where the bin's packets were read, flows where only flow records were left
    SELECT capture_id, bin, CASE WHEN bool_or(from_packets) THEN 'packets' ELSE 'flows' END AS basis
    FROM zoned GROUP BY capture_id, bin
)
SELECT z.capture_id, z.bin, b.basis, z.src_zone, z.dst_zone,
       CASE WHEN z.src_zone = 'internet' AND z.dst_zone = 'home' THEN 'in'
            WHEN z.src_zone = 'home' AND z.dst_zone = 'internet' THEN 'out'
            WHEN z.src_zone = 'home' AND z.dst_zone = 'home' THEN 'internal'
            WHEN z.src_zone = 'internet' AND z.dst_zone = 'internet' THEN 'transit'
            ELSE 'other' END AS direction,
       z.ip_version, z.ip_proto, sum(z.bytes), sum(z.packets), sum(z.flows)
FROM zoned z JOIN basis b ON b.capture_id = z.capture_id AND b.bin = z.bin
GROUP BY z.capture_id, z.bin, b.basis, z.src_zone, z.dst_zone, z.ip_version, z.ip_proto
