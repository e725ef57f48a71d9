-- name: info_ip_mac_changes
-- description: IP-to-MAC changes over time, the evidence of ARP spoofing (and of failovers, new NICs, DHCP reuse): every ARP packet whose sender claims an IPv4 address for a different MAC than the previous claim for that address, in time order. macs_for_ip counts the MACs that ever claimed the address; old_mac_last_ts is the previous claim's time (the old owner may keep answering: a flip-flop).
-- param: change_limit INTEGER = 50
WITH claims AS (
    SELECT capture_id, frame, ts, arp_op, arp_spa AS ip, arp_sha AS mac
    FROM packets
    WHERE arp_sha IS NOT NULL AND arp_spa IS NOT NULL AND arp_spa <> 281470681743360::UHUGEINT
),
ordered AS (
    SELECT *,
           lag(mac) OVER w AS prev_mac,
           lag(ts) OVER w AS prev_ts,
           count(DISTINCT mac) OVER (PARTITION BY ip) AS macs_for_ip
    FROM claims
    WINDOW w AS (PARTITION BY ip ORDER BY ts, capture_id, frame)
)
SELECT
    ip_text(ip) AS ip,
    strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts,
    mac_text(prev_mac) AS old_mac,
    mac_text(mac) AS new_mac,
    strftime(prev_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS old_mac_last_ts,
    CASE arp_op WHEN 1 THEN 'request' WHEN 2 THEN 'reply' WHEN 3 THEN 'rarp-request' WHEN 4 THEN 'rarp-reply'
         ELSE CAST(arp_op AS VARCHAR) END AS arp_op,
    macs_for_ip,
    capture_id,
    frame
FROM ordered
WHERE prev_mac IS NOT NULL AND prev_mac <> mac
ORDER BY ordered.ts, capture_id, frame
LIMIT $change_limit
