-- name: flows_line
-- description: One row per flow record, the fields of nfdump's `-o line` (first seen, duration, protocol,
--   source and destination address and port, packets, bytes, flows) plus where the record came from.
--   `forensics flows` runs this as it is and adds, from its options, a WHERE over the `flows` columns
--   (--filter compiled to SQL with bound values, --from/--to on first_ts, --source), an ORDER BY
--   (--sort first|bytes|packets) and LIMIT $limit (-c N). With -c N the WHERE, ORDER BY and LIMIT pick the flows
--   first (`FROM flows` below becomes that subquery, then ORDER BY and LIMIT again): the columns are computed for
--   those N flows only (forensics/store/flow_list.py).
-- packets and bytes are as the record counts them: IP-layer bytes (NetFlow's, as nfdump shows them);
-- for a sampled export, the sampled counts (packets_scaled/bytes_scaled hold the estimates).
-- app: the first configured [applications] signature matching the protocol and a port (app_of, from the
-- config the command loads), else the flow's label from payload evidence (flow_app, pcap-derived flows only).
SELECT
    flow_id,
    source,                                   -- pcap (metered from packets) or the export format
    capture_id,
    first_ts,
    last_ts,
    epoch_us(last_ts) - epoch_us(first_ts) AS duration_us,
    ip_version,
    ip_proto,
    CASE ip_proto WHEN 1 THEN 'ICMP' WHEN 2 THEN 'IGMP' WHEN 6 THEN 'TCP' WHEN 17 THEN 'UDP' WHEN 47 THEN 'GRE'
        WHEN 50 THEN 'ESP' WHEN 51 THEN 'AH' WHEN 58 THEN 'ICMP6' WHEN 132 THEN 'SCTP'
        ELSE CAST(ip_proto AS VARCHAR) END AS proto,
    ip_text(src_ip) AS src_ip,
    src_port,
    ip_text(dst_ip) AS dst_ip,
    dst_port,
    icmp_type,
    icmp_code,
    tcp_flags,
    packets,
    bytes,
    1 AS flows,                               -- records are not aggregated: one flow each
    coalesce(app_of(ip_proto, src_port, dst_port), label.app) AS app,
    CASE WHEN app_of(ip_proto, src_port, dst_port) IS NOT NULL THEN 'signature' ELSE label.evidence END
        AS app_evidence                       -- signature, or flow_app.evidence: the table or payload that said so
FROM flows
LEFT JOIN (SELECT flow_id AS label_flow_id, app, evidence FROM flow_app) label ON label.label_flow_id = flows.flow_id
