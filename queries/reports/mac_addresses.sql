-- name: mac_addresses
-- title: MAC addresses and IP-to-MAC changes
-- description: The link layer over the report window, read from the case's packets (every frame with a source MAC, ARP and non-IP frames included; the scope and --filter of the IP reports do not apply; the window, without --from/--to, is the time range of every frame, IP or not). Sections: (1) macs: the source MAC addresses that sent the most frames, with the IPv4/IPv6 addresses seen behind each (packets' source addresses and ARP sender addresses, busiest first, five shown; a router's MAC carries every routed address; 0.0.0.0 and :: left out); packets and frame_bytes (link layer, frame length on the wire) per bin and over the window, arp_packets the ARP/RARP frames it sent, addresses the distinct IPs behind it. (2) ip_mac_changes: every ARP/RARP frame whose sender claims an IPv4 address for another MAC than the previous claim of that address, in time order (ARP spoofing evidence; also failover, a new NIC, DHCP reuse); macs = the MACs that claimed the address in the window, old_mac_last_ts the previous claim's time, frame = capture_id:frame. The same logic as `forensics info` (queries/info/macs.sql, queries/info/ip_mac_changes.sql), over the window.
-- param: top INTEGER = 10
-- param: change_limit INTEGER = 50
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- section: macs: mac, ips
-- section: ip_mac_changes: ts, ip, old_mac, new_mac, arp_op, old_mac_last_ts, frame
-- measures: packets, frame_bytes, arp_packets, addresses, macs
-- unit: packets
-- needs: packets
WITH win AS MATERIALIZED (
    SELECT ts, capture_id, frame, wirelen, src_mac, ip_version, src_ip, arp_op, arp_sha, arp_spa
    FROM packets
    WHERE ts >= $from_ts AND ts < $to_ts
),
per_mac AS (  -- the $top busiest senders, ranked by frames (ties by address)
    SELECT src_mac AS mac, count(*) AS packets, sum(wirelen) AS frame_bytes,
           count(*) FILTER (arp_op IS NOT NULL) AS arp_packets,
           row_number() OVER (ORDER BY count(*) DESC, src_mac) AS rank
    FROM win
    WHERE src_mac IS NOT NULL
    GROUP BY src_mac
    ORDER BY packets DESC, mac
    LIMIT $top
),
behind AS (  -- the addresses behind each of them: IP source addresses and ARP sender addresses
    SELECT mac, ip, sum(n) AS packets
    FROM (
        SELECT src_mac AS mac, src_ip AS ip, count(*) AS n FROM win
        WHERE src_mac IS NOT NULL AND ip_version IS NOT NULL AND src_ip NOT IN (0::UHUGEINT, 281470681743360::UHUGEINT)
        GROUP BY ALL
        UNION ALL
        SELECT arp_sha, arp_spa, count(*) FROM win
        WHERE arp_sha IS NOT NULL AND arp_spa IS NOT NULL AND arp_spa <> 281470681743360::UHUGEINT GROUP BY ALL
    )
    WHERE mac IN (SELECT mac FROM per_mac)
    GROUP BY ALL
),
mac_rows AS (
    SELECT m.rank, m.mac, count(b.ip) AS addresses,
           coalesce(list(ip_text(b.ip) ORDER BY b.packets DESC, b.ip) FILTER (b.ip IS NOT NULL), []) AS ips
    FROM per_mac m
    LEFT JOIN behind b ON b.mac = m.mac
    GROUP BY m.rank, m.mac
),
mac_bins AS (  -- the frames of each top MAC per clock-aligned bin
    SELECT m.rank, time_bin(w.ts, $bin_secs) AS bin, count(*) AS packets, sum(w.wirelen) AS frame_bytes,
           count(*) FILTER (w.arp_op IS NOT NULL) AS arp_packets
    FROM win w JOIN per_mac m ON w.src_mac = m.mac
    GROUP BY ALL
),
claims AS (  -- who claimed which IPv4 address in ARP/RARP (0.0.0.0 of ARP probes left out)
    SELECT capture_id, frame, ts, arp_op, arp_spa AS ip, arp_sha AS mac
    FROM win
    WHERE arp_sha IS NOT NULL AND arp_spa IS NOT NULL AND arp_spa <> 281470681743360::UHUGEINT
),
ordered AS (
    SELECT *, lag(mac) OVER w AS prev_mac, lag(ts) OVER w AS prev_ts,
           count(DISTINCT mac) OVER (PARTITION BY ip) AS macs_for_ip
    FROM claims
    WINDOW w AS (PARTITION BY ip ORDER BY ts, capture_id, frame)
),
changes AS (
    SELECT row_number() OVER (ORDER BY ts, capture_id, frame) AS rank, *
    FROM ordered
    WHERE prev_mac IS NOT NULL AND prev_mac <> mac
    ORDER BY ts, capture_id, frame
    LIMIT $change_limit
)
SELECT 'macs' AS section, r.rank, mac_text(r.mac) AS mac,
       CASE WHEN array_length(r.ips) = 0 THEN '-' ELSE array_to_string(r.ips[1:5], ', ')
            || CASE WHEN array_length(r.ips) > 5 THEN printf(' (+%d)', array_length(r.ips) - 5) ELSE '' END END AS ips,
       NULL AS ts, NULL AS ip, NULL AS old_mac, NULL AS new_mac, NULL AS arp_op, NULL AS old_mac_last_ts,
       NULL AS frame, CAST(NULL AS TIMESTAMP) AS bin,
       m.packets, m.frame_bytes, m.arp_packets, r.addresses, NULL AS macs
FROM mac_rows r JOIN per_mac m USING (rank)
UNION ALL
SELECT 'macs', b.rank, mac_text(m.mac), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, b.bin,
       b.packets, b.frame_bytes, b.arp_packets, NULL, NULL
FROM mac_bins b JOIN per_mac m USING (rank)
UNION ALL
SELECT 'ip_mac_changes', rank, NULL, NULL, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ'), ip_text(ip), mac_text(prev_mac),
       mac_text(mac),
       CASE arp_op WHEN 1 THEN 'request' WHEN 2 THEN 'reply' WHEN 3 THEN 'rarp-request' WHEN 4 THEN 'rarp-reply'
            ELSE CAST(arp_op AS VARCHAR) END,
       strftime(prev_ts, '%Y-%m-%dT%H:%M:%S.%fZ'), printf('%d:%d', capture_id, frame), NULL,
       NULL, NULL, NULL, NULL, macs_for_ip
FROM changes
ORDER BY section DESC, rank, bin NULLS FIRST;
