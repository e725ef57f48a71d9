-- _packet_bins: the packets of the case in the report window, as one-packet flows (the flow table's column
-- names, so the scope, config-filter and --filter conditions written for flows apply to each packet: a
-- filter on TCP flags selects the packets that carry them), summed per flow key and per clock-aligned bin
-- of each packet's own time. Only IP packets with both addresses: the packets flows are built from
-- (queries/derive/flows_from_packets.sql); bytes are IP-layer bytes, as there.
-- The report runner (forensics/reports/traffic.py) runs this once per report, with the scope and filter
-- conditions in place of `true /* restrict */` (their values bound), and $filter NULL for the report's
-- traffic or a config filter's name (filter_compare runs it once per filter).
INSERT INTO _packet_bins
SELECT $filter AS filter, time_bin(first_ts, $bin_secs) AS bin, ip_version, src_ip, dst_ip, ip_proto, src_port,
       dst_port, iface, vlan,
       -- a packet has no flow-export interfaces or AS numbers: NULL here, not group keys (DuckDB hashed these four
       -- constant NULLs with the nine real keys: protocol_mix on the 2M-packet bench lake 0.42 -> 0.36 s)
       CAST(NULL AS UINTEGER) AS in_if, CAST(NULL AS UINTEGER) AS out_if, CAST(NULL AS UINTEGER) AS src_as,
       CAST(NULL AS UINTEGER) AS dst_as, bit_or(tcp_flags) AS tcp_flags,
       -- 1: a TCP SYN without ACK was sent on this key (a client opening); 2: a SYN with ACK (a server answering)
       bit_or(CASE WHEN ip_proto = 6 AND tcp_flags & 18 = 2 THEN 1 WHEN ip_proto = 6 AND tcp_flags & 18 = 18 THEN 2
                   ELSE 0 END) AS handshake,
       count(*) AS packets, sum(bytes) AS bytes
FROM (
    SELECT p.ts AS first_ts, p.ts AS last_ts, 'pcap' AS source, p.capture_id, p.frame, p.ip_version, p.src_ip,
           p.dst_ip, p.ip_proto, coalesce(p.src_port, 0) AS src_port, coalesce(p.dst_port, 0) AS dst_port,
           p.icmp_type, p.icmp_code, p.iface, p.vlan, p.vlan_inner, p.mpls_label, p.eth_type, p.linktype,
           CAST(NULL AS UINTEGER) AS in_if, CAST(NULL AS UINTEGER) AS out_if, CAST(NULL AS UINTEGER) AS src_as,
           CAST(NULL AS UINTEGER) AS dst_as, p.tcp_flags, 1 AS packets, coalesce(p.ip_len, 0) AS bytes,
           p.wirelen AS frame_bytes, p.wirelen, p.caplen, p.ip_len, p.ttl, p.ip_id, p.frag_offset, p.frag_flags,
           p.malformed, 1 AS sampling_rate, p.src_mac, p.dst_mac, p.arp_op, p.arp_spa, p.arp_tpa, p.file_offset
    FROM packets p
    WHERE p.ts >= $from_ts AND p.ts < $to_ts
      AND p.ip_version IS NOT NULL AND p.src_ip IS NOT NULL AND p.dst_ip IS NOT NULL
) AS flows
WHERE true /* restrict */
GROUP BY bin, ip_version, src_ip, dst_ip, ip_proto, src_port, dst_port, iface, vlan;
