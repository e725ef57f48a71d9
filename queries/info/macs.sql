-- name: info_macs
-- description: The link layer: the source MAC addresses that sent the most packets, with the IPv4/IPv6 addresses seen behind each (packets' source addresses and ARP sender addresses; a router's MAC carries every routed address). The unspecified addresses (0.0.0.0 of ARP probes and DHCP, :: of IPv6 address checks) are left out.
-- param: mac_limit INTEGER = 20
WITH per_mac AS (
    SELECT src_mac AS mac, count(*) AS packets, sum(wirelen) AS bytes, min(ts) AS first_ts, max(ts) AS last_ts,
           count(*) FILTER (arp_op IS NOT NULL) AS arp_packets
    FROM packets
    WHERE src_mac IS NOT NULL
    GROUP BY src_mac
    ORDER BY packets DESC, mac
    LIMIT $mac_limit
),
behind AS (
    SELECT mac, ip, sum(n) AS packets
    FROM (
        SELECT src_mac AS mac, src_ip AS ip, count(*) AS n FROM packets
        WHERE src_mac IS NOT NULL AND ip_version IS NOT NULL AND src_ip NOT IN (0::UHUGEINT, 281470681743360::UHUGEINT)
        GROUP BY ALL
        UNION ALL
        SELECT arp_sha, arp_spa, count(*) FROM packets
        WHERE arp_sha IS NOT NULL AND arp_spa IS NOT NULL AND arp_spa <> 281470681743360::UHUGEINT GROUP BY ALL
    )
    WHERE mac IN (SELECT mac FROM per_mac)
    GROUP BY ALL
)
SELECT
    mac_text(m.mac) AS mac, m.packets, m.bytes, m.arp_packets,
    strftime(m.first_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS first_ts, strftime(m.last_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS last_ts,
    count(b.ip) AS ip_count,
    coalesce(list(ip_text(b.ip) ORDER BY b.packets DESC, b.ip) FILTER (b.ip IS NOT NULL), [])[1:5] AS top_ips
FROM per_mac m
LEFT JOIN behind b ON b.mac = m.mac
GROUP BY m.mac, m.packets, m.bytes, m.arp_packets, m.first_ts, m.last_ts
ORDER BY m.packets DESC, mac
