-- name: dhcp_leases
-- title: DHCP leases per client
-- description: Who got which address from which DHCP server, per client MAC address, from the case's dhcp table (queries/schema/appdata.sql: DHCPv4 read from packet payloads at import, UDP ports 67/68). Section clients: the $top client MACs (chaddr) by DHCP messages, with the host name and vendor class they sent (the last seen), the addresses offered (OFFER) and assigned (ACK) to them and the servers (server identifier, else the replying address) that did, first and last message time; messages = DHCP messages about the client (its own and the servers' replies to it), acks = ACKs, addresses_assigned = distinct addresses ACKed. Section servers: the addresses that sent OFFERs or ACKs, by messages; macs = distinct client MACs served. The scope and --filter select the packets that carry the messages (their flow key and bin must be kept). Counts per bin and over the window.
-- param: top INTEGER = 20
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- section: clients: client_mac, hostname, vendor_class, offered, assigned, server, first_seen, last_seen
-- section: servers: server
-- measures: messages, acks, addresses_assigned, macs
-- unit: packets
WITH msgs AS MATERIALIZED (  -- the DHCP messages in the window whose packet the scope and --filter keep
    SELECT d.ts, time_bin(d.ts, $bin_secs) AS bin, d.frame, d.op, d.message_type, d.client_mac, d.hostname,
           d.vendor_class, d.assigned_ip, coalesce(d.server_id, CASE WHEN d.op = 2 THEN d.src_ip END) AS server
    FROM dhcp d
    JOIN packets p ON p.capture_id = d.capture_id AND p.frame = d.frame
    WHERE d.ts >= $from_ts AND d.ts < $to_ts AND d.client_mac IS NOT NULL
      AND EXISTS (SELECT 1 FROM _packet_bins pb
                  WHERE pb.filter IS NULL AND pb.bin = time_bin(d.ts, $bin_secs) AND pb.src_ip = p.src_ip
                    AND pb.dst_ip = p.dst_ip AND pb.src_port = p.src_port AND pb.dst_port = p.dst_port)
),
clients AS (
    SELECT client_mac, count(*) AS messages, count(*) FILTER (message_type = 5) AS acks,
           count(DISTINCT assigned_ip) FILTER (message_type = 5) AS addresses_assigned,
           arg_max(hostname, ts) FILTER (hostname IS NOT NULL) AS hostname,
           arg_max(vendor_class, ts) FILTER (vendor_class IS NOT NULL) AS vendor_class,
           list(DISTINCT ip_text(assigned_ip)) FILTER (message_type = 2 AND assigned_ip IS NOT NULL) AS offered,
           list(DISTINCT ip_text(assigned_ip)) FILTER (message_type = 5 AND assigned_ip IS NOT NULL) AS assigned,
           list(DISTINCT ip_text(server)) FILTER (message_type IN (2, 5, 6) AND server IS NOT NULL) AS servers,
           min(ts) AS first_seen, max(ts) AS last_seen,
           row_number() OVER (ORDER BY count(*) DESC, client_mac) AS rank
    FROM msgs GROUP BY client_mac
    QUALIFY rank <= $top
),
servers AS (
    SELECT server, count(*) AS messages, count(*) FILTER (message_type = 5) AS acks,
           count(DISTINCT assigned_ip) FILTER (message_type = 5) AS addresses_assigned,
           count(DISTINCT client_mac) AS macs, row_number() OVER (ORDER BY count(*) DESC, server) AS rank
    FROM msgs WHERE op = 2 AND message_type IN (2, 5, 6) AND server IS NOT NULL GROUP BY server
    QUALIFY rank <= $top
)
SELECT 'clients' AS section, c.rank, c.client_mac, coalesce(c.hostname, '-') AS hostname,
       coalesce(c.vendor_class, '-') AS vendor_class,
       coalesce(array_to_string(list_sort(c.offered), ', '), '-') AS offered,
       coalesce(array_to_string(list_sort(c.assigned), ', '), '-') AS assigned,
       coalesce(array_to_string(list_sort(c.servers), ', '), '-') AS server,
       strftime(c.first_seen, '%Y-%m-%dT%H:%M:%S.%fZ') AS first_seen,
       strftime(c.last_seen, '%Y-%m-%dT%H:%M:%S.%fZ') AS last_seen,
       CAST(NULL AS TIMESTAMP) AS bin, c.messages, c.acks, c.addresses_assigned, NULL AS macs
FROM clients c
UNION ALL
SELECT 'clients', c.rank, c.client_mac, NULL, NULL, NULL, NULL, NULL, NULL, NULL, m.bin, count(*),
       count(*) FILTER (m.message_type = 5), count(DISTINCT m.assigned_ip) FILTER (m.message_type = 5), NULL
FROM clients c JOIN msgs m USING (client_mac) GROUP BY c.rank, c.client_mac, m.bin
UNION ALL
SELECT 'servers', s.rank, NULL, NULL, NULL, NULL, NULL, ip_text(s.server), NULL, NULL, NULL, s.messages, s.acks,
       s.addresses_assigned, s.macs
FROM servers s
UNION ALL
SELECT 'servers', s.rank, NULL, NULL, NULL, NULL, NULL, ip_text(s.server), NULL, NULL, m.bin, count(*),
       count(*) FILTER (m.message_type = 5), count(DISTINCT m.assigned_ip) FILTER (m.message_type = 5),
       count(DISTINCT m.client_mac)
FROM servers s JOIN msgs m ON m.server = s.server AND m.op = 2 AND m.message_type IN (2, 5, 6)
GROUP BY s.rank, s.server, m.bin
ORDER BY section, rank, bin NULLS FIRST;
