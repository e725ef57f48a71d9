-- name: flows_from_packets
-- description: Unidirectional NetFlow-style flow records from one capture's IP packets. Key: capture
--   interface, outer VLAN, IP version, addresses, protocol, ports (0 when absent), ICMP type/code. A flow
--   ends at an idle gap longer than $idle_us, after a packet with TCP FIN or RST, and is cut every
--   $active_us from its first packet (active timeout, measured from the flow's start). bytes are IP-layer
--   bytes (as NetFlow/nfdump count them), frame_bytes link-layer bytes (as tshark's conversations count them).
-- param: capture_id INTEGER
-- param: idle_us BIGINT = 15000000
-- param: active_us BIGINT = 1800000000
INSERT INTO flows
WITH p AS (
    SELECT
        frame, epoch_us(ts) AS t, iface, coalesce(vlan, 0) AS vlan_k, vlan, ip_version, src_ip, dst_ip,
        ip_proto, coalesce(src_port, 0) AS sp, coalesce(dst_port, 0) AS dp,
        coalesce(icmp_type, 0) AS it, coalesce(icmp_code, 0) AS ic, icmp_type, icmp_code,
        tcp_flags, wirelen, coalesce(ip_len, 0) AS ip_len,
        CASE WHEN ip_proto = 6 AND (coalesce(tcp_flags, 0) & 5) <> 0 THEN 1 ELSE 0 END AS ends
    FROM packets
    WHERE capture_id = $capture_id AND ip_version IS NOT NULL AND src_ip IS NOT NULL AND dst_ip IS NOT NULL
), g AS (
    SELECT *,
        CASE WHEN lag(t) OVER w IS NULL OR t - lag(t) OVER w > $idle_us OR lag(ends) OVER w = 1
             THEN 1 ELSE 0 END AS starts
    FROM p
    WINDOW w AS (PARTITION BY iface, vlan_k, src_ip, dst_ip, ip_proto, sp, dp, it, ic ORDER BY t, frame)
), s AS (
    SELECT *,
        sum(starts) OVER (PARTITION BY iface, vlan_k, src_ip, dst_ip, ip_proto, sp, dp, it, ic
                          ORDER BY t, frame ROWS UNBOUNDED PRECEDING) AS seg
    FROM g
), a AS (
    SELECT *,
        (t - min(t) OVER (PARTITION BY iface, vlan_k, src_ip, dst_ip, ip_proto, sp, dp, it, ic, seg))
            // $active_us AS sub
    FROM s
), f AS (
    SELECT
        min(frame) AS first_frame, min(t) AS first_t, max(t) AS last_t, iface, any_value(vlan) AS vlan,
        any_value(ip_version) AS ip_version, src_ip, dst_ip, ip_proto, sp, dp,
        any_value(icmp_type) AS icmp_type, any_value(icmp_code) AS icmp_code,
        bit_or(tcp_flags) AS tcp_flags, count(*) AS packets, sum(ip_len) AS bytes, sum(wirelen) AS frame_bytes
    FROM a
    GROUP BY iface, vlan_k, src_ip, dst_ip, ip_proto, sp, dp, it, ic, seg, sub
)
SELECT
    (SELECT coalesce(max(flow_id), 0) FROM flows) + row_number() OVER (ORDER BY first_t, first_frame) AS flow_id,
    'pcap' AS source, $capture_id AS capture_id, first_frame AS record_pos, NULL AS exporter_ip,
    NULL AS observation_domain, make_timestamp(first_t) AS first_ts, make_timestamp(last_t) AS last_ts,
    ip_version, src_ip, dst_ip, ip_proto, sp AS src_port, dp AS dst_port, icmp_type, icmp_code, iface, vlan,
    NULL AS in_if, NULL AS out_if, NULL AS src_as, NULL AS dst_as, NULL AS next_hop, NULL AS direction,
    NULL AS tos, tcp_flags, packets, bytes, frame_bytes, 1 AS sampling_rate, packets AS packets_scaled,
    bytes AS bytes_scaled
FROM f;
