-- name: info_protocols
-- description: Protocol mix over all packets: network layer (IPv4, IPv6, ARP, RARP, other ethertypes, undecoded) and transport protocol by name (its number when unnamed).
SELECT
    CASE WHEN ip_version = 4 THEN 'IPv4' WHEN ip_version = 6 THEN 'IPv6'
         WHEN eth_type = 2054 THEN 'ARP' WHEN eth_type = 32821 THEN 'RARP' WHEN eth_type IS NULL THEN 'undecoded'
         ELSE printf('ethertype 0x%04x', eth_type) END AS network,
    CASE ip_proto WHEN 6 THEN 'TCP' WHEN 17 THEN 'UDP' WHEN 1 THEN 'ICMP' WHEN 58 THEN 'ICMPv6'
         WHEN 2 THEN 'IGMP' WHEN 4 THEN 'IPIP' WHEN 41 THEN 'IPv6' WHEN 47 THEN 'GRE' WHEN 50 THEN 'ESP'
         WHEN 51 THEN 'AH' WHEN 59 THEN 'IPv6-NoNxt' WHEN 88 THEN 'EIGRP' WHEN 89 THEN 'OSPF' WHEN 103 THEN 'PIM'
         WHEN 112 THEN 'VRRP' WHEN 132 THEN 'SCTP' WHEN 136 THEN 'UDP-Lite'
         ELSE CAST(ip_proto AS VARCHAR) END AS protocol,
    count(*) AS packets, sum(wirelen) AS bytes
FROM packets
GROUP BY ALL
ORDER BY packets DESC
