-- name: flows_from_packets
-- description: Unidirectional NetFlow-style flow records from one capture's IP packets. Key: capture
--   interface, outer VLAN (0 when untagged), IP version, addresses, protocol, ports (0 when absent), ICMP
--   type/code. A flow ends at an idle gap longer than $idle_us, after a packet with TCP FIN or RST, and is
--   cut every $active_us from the start of its segment (active timeout). bytes are IP-layer bytes (as
--   NetFlow/nfdump count them), frame_bytes link-layer bytes (as tshark's conversations count them).
--   forensics/ingest/flowmeter.py builds the same flows in one streaming pass; this file is the reference.
-- flow_id: capture_id * 2^32 + 2^31 + n (exported records of the same file take capture_id * 2^32 + n).
-- param: capture_id INTEGER
-- param: idle_us BIGINT = 15000000
-- param: active_us BIGINT = 1800000000
INSERT INTO flows
WITH p AS MATERIALIZED (
    -- one row per IP packet: its flow key, time, and what the flow sums up
    SELECT
        iface, coalesce(vlan, 0) AS vlan_key, ip_version, src_ip, dst_ip, ip_proto,
        coalesce(src_port, 0) AS src_port, coalesce(dst_port, 0) AS dst_port, icmp_type, icmp_code,
        frame, epoch_us(ts) AS t, vlan, tcp_flags, ip_len, wirelen,
        CASE WHEN ip_proto = 6 AND (coalesce(tcp_flags, 0) & 5) <> 0 THEN 1 ELSE 0 END AS ends
    FROM packets
    WHERE capture_id = $capture_id AND ip_version IS NOT NULL AND src_ip IS NOT NULL AND dst_ip IS NOT NULL
), starts AS (
    -- a packet starts a segment: the key's first packet, after an idle gap, or after a FIN/RST packet
    SELECT *,
        CASE WHEN lag(t) OVER k IS NULL OR t - lag(t) OVER k > $idle_us OR lag(ends) OVER k = 1
             THEN 1 ELSE 0 END AS starts
    FROM p
    WINDOW k AS (PARTITION BY iface, vlan_key, ip_version, src_ip, dst_ip, ip_proto, src_port, dst_port,
                              icmp_type, icmp_code
                 ORDER BY t, frame)
), segments AS (
    -- segment number within the key, and the segment's start time
    SELECT *,
        sum(starts) OVER k AS seg,
        max(CASE WHEN starts = 1 THEN t END) OVER k AS seg_t
    FROM starts
    WINDOW k AS (PARTITION BY iface, vlan_key, ip_version, src_ip, dst_ip, ip_proto, src_port, dst_port,
                              icmp_type, icmp_code
                 ORDER BY t, frame ROWS UNBOUNDED PRECEDING)
), f AS (
    -- one flow per key, segment and active window of the segment
    SELECT
        min(frame) AS first_frame, min(t) AS first_t, max(t) AS last_t, iface, any_value(vlan) AS vlan,
        ip_version, src_ip, dst_ip, ip_proto, src_port, dst_port, icmp_type, icmp_code,
        bit_or(tcp_flags) AS tcp_flags, count(*) AS packets, sum(coalesce(ip_len, 0)) AS bytes,
        sum(wirelen) AS frame_bytes
    FROM segments
    GROUP BY iface, vlan_key, ip_version, src_ip, dst_ip, ip_proto, src_port, dst_port, icmp_type, icmp_code,
             seg, (t - seg_t) // $active_us
)
SELECT
    ($capture_id::BIGINT << 32) + 2147483648 + row_number() OVER (ORDER BY first_t, first_frame) AS flow_id,
    'pcap' AS source, $capture_id AS capture_id, first_frame AS record_pos, NULL AS exporter_ip,
    NULL AS observation_domain, make_timestamp(first_t) AS first_ts, make_timestamp(last_t) AS last_ts,
    ip_version, src_ip, dst_ip, ip_proto, src_port, dst_port, icmp_type, icmp_code, iface, vlan,
    NULL AS in_if, NULL AS out_if, NULL AS src_as, NULL AS dst_as, NULL AS next_hop, NULL AS direction,
    NULL AS tos, tcp_flags, packets, bytes, frame_bytes, 1 AS sampling_rate, packets AS packets_scaled,
    bytes AS bytes_scaled
FROM f;
