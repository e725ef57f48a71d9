-- name: app_evidence
-- description: The application messages the import stored for one capture (queries/schema/appdata.sql), one row
--   per packet: the label each gives the flows of its connection (forensics/ingest/app_labels.py joins them
--   to the flows with queries/derive/flow_app.sql), with the packet's 5-tuple where the table holds it (dhcp
--   and ntp do not: flow_app.sql finds it by frame); addresses as two UBIGINT halves (they travel through Arrow,
--   which has no 128-bit integer). DNS keeps its service: dns, mdns or llmnr. A DNS-shaped
--   message on UDP port 137 is NetBIOS name service (tshark: nbns), not DNS: left out.
-- param: cid INTEGER = 1
SELECT frame, app, evidence, ip_proto::UTINYINT AS ip_proto,
       (src_ip >> 64)::UBIGINT AS src_hi, (src_ip & 18446744073709551615::UHUGEINT)::UBIGINT AS src_lo,
       (dst_ip >> 64)::UBIGINT AS dst_hi, (dst_ip & 18446744073709551615::UHUGEINT)::UBIGINT AS dst_lo,
       src_port, dst_port
FROM (
    SELECT DISTINCT frame, service AS app, 'dns' AS evidence, CASE transport WHEN 'tcp' THEN 6 ELSE 17 END AS ip_proto,
           src_ip, dst_ip, src_port, dst_port
    FROM dns
    WHERE capture_id = $cid AND NOT (transport = 'udp' AND (src_port = 137 OR dst_port = 137))
    UNION ALL
    SELECT DISTINCT frame, CASE WHEN starts_with(ja4, 'q') THEN 'quic' ELSE 'tls' END,
           CASE WHEN starts_with(ja4, 'q') THEN 'quic' ELSE 'tls' END,  -- a QUIC Initial's hello: JA4 'q...', UDP
           CASE WHEN starts_with(ja4, 'q') THEN 17 ELSE 6 END, src_ip, dst_ip, src_port, dst_port
    FROM tls WHERE capture_id = $cid
    UNION ALL
    SELECT DISTINCT frame, 'smtp', 'smtp', 6, src_ip, dst_ip, src_port, dst_port FROM smtp WHERE capture_id = $cid
    UNION ALL
    SELECT DISTINCT frame, 'http', 'http', 6, src_ip, dst_ip, src_port, dst_port FROM http WHERE capture_id = $cid
    UNION ALL
    SELECT frame, 'ntp', 'ntp', 17, NULL, NULL, NULL, NULL FROM ntp WHERE capture_id = $cid
    UNION ALL
    SELECT frame, 'dhcp', 'dhcp', 17, NULL, NULL, NULL, NULL FROM dhcp WHERE capture_id = $cid
    UNION ALL
    SELECT frame, 'dhcp', 'dhcp6', 17, NULL, NULL, NULL, NULL FROM dhcp6 WHERE capture_id = $cid
)
