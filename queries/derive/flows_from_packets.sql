-- name: flows_from_packets
-- description: Unidirectional NetFlow-style flow records from one capture's IP packets. Key: capture
--   interface, outer VLAN, IP version, addresses, protocol, ports (0 when absent), ICMP type/code. A flow
--   ends at an idle gap longer than $idle_us, after a packet with TCP FIN or RST, and is cut every
--   $active_us from its first packet (active timeout, measured from the flow's start). bytes are IP-layer
--   bytes (as NetFlow/nfdump count them), frame_bytes link-layer bytes (as tshark's conversations count them).
-- flow_id: capture_id * 2^32 + 2^31 + n (exported records of the same file take capture_id * 2^32 + n).
-- param: capture_id INTEGER
-- param: idle_us BIGINT = 15000000
-- param: active_us BIGINT = 1800000000
INSERT INTO flows
WITH n AS MATERIALIZED (
    SELECT
        frame, epoch_us(ts) AS t,
        CASE WHEN ip_proto = 6 AND (coalesce(tcp_flags, 0) & 5) <> 0 THEN 1 ELSE 0 END AS ends,
        hash(iface, vlan, src_ip, dst_ip, ip_proto, src_port, dst_port, icmp_type, icmp_code) AS h
    FROM packets
    WHERE capture_id = $capture_id AND ip_version IS NOT NULL AND src_ip IS NOT NULL AND dst_ip IS NOT NULL
), g AS MATERIALIZED (
    SELECT frame, t, h,
        CASE WHEN lag(t) OVER w IS NULL OR t - lag(t) OVER w > $idle_us OR lag(ends) OVER w = 1
             THEN 1 ELSE 0 END AS starts
    FROM n
    WINDOW w AS (PARTITION BY h ORDER BY t, frame)
), s AS (
    SELECT frame, t,
        sum(starts) OVER w AS seg,
        max(CASE WHEN starts = 1 THEN t END) OVER w AS seg_t
    FROM g
    WINDOW w AS (PARTITION BY h ORDER BY t, frame ROWS UNBOUNDED PRECEDING)
), f AS (
    SELECT
        min(p.frame) AS first_frame, min(s.t) AS first_t, max(s.t) AS last_t, iface, any_value(vlan) AS vlan,
        any_value(ip_version) AS ip_version, src_ip, dst_ip, ip_proto,
        coalesce(src_port, 0) AS sp, coalesce(dst_port, 0) AS dp, icmp_type, icmp_code,
        bit_or(tcp_flags) AS tcp_flags, count(*) AS packets, sum(coalesce(ip_len, 0)) AS bytes,
        sum(wirelen) AS frame_bytes
    FROM packets AS p JOIN s ON p.frame = s.frame
    WHERE p.capture_id = $capture_id
    GROUP BY iface, coalesce(vlan, 0), src_ip, dst_ip, ip_proto, sp, dp, icmp_type, icmp_code, seg,
             (s.t - seg_t) // $active_us
)
SELECT
    ($capture_id::BIGINT << 32) + 2147483648 + row_number() OVER (ORDER BY first_t, first_frame) AS flow_id,
    'pcap' AS source, $capture_id AS capture_id, first_frame AS record_pos, NULL AS exporter_ip,
    NULL AS observation_domain, make_timestamp(first_t) AS first_ts, make_timestamp(last_t) AS last_ts,
    ip_version, src_ip, dst_ip, ip_proto, sp AS src_port, dp AS dst_port, icmp_type, icmp_code, iface, vlan,
    NULL AS in_if, NULL AS out_if, NULL AS src_as, NULL AS dst_as, NULL AS next_hop, NULL AS direction,
    NULL AS tos, tcp_flags, packets, bytes, frame_bytes, 1 AS sampling_rate, packets AS packets_scaled,
    bytes AS bytes_scaled
FROM f;
