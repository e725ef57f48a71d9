-- name: serve_coverage
-- description: What each imported file covers, one row per capture interface (packet captures) or one row for
--   the exported flow records a file holds (iface NULL): first and last time, packets and bytes on the wire,
--   flows, malformed packets of that interface, and the file's own counts (undecoded, why reading stopped,
--   rows of import_rejects). A file that yielded nothing still has its row (times NULL). Times ISO-8601 Z.
WITH per_iface AS (
    SELECT capture_id, iface, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS packets,
           sum(wirelen)::BIGINT AS bytes, count(*) FILTER (WHERE malformed) AS malformed
    FROM packet_rows
    GROUP BY capture_id, iface
),
pcap_flows AS (
    SELECT capture_id, iface, count(*) AS flows
    FROM flows
    WHERE source = 'pcap'
    GROUP BY capture_id, iface
),
exported AS (
    SELECT capture_id, NULL::USMALLINT AS iface, min(first_ts) AS first_ts, max(last_ts) AS last_ts,
           0::BIGINT AS packets, NULL::BIGINT AS bytes, count(*) AS flows, NULL::BIGINT AS malformed
    FROM flows
    WHERE source <> 'pcap'
    GROUP BY capture_id
),
spans AS (
    SELECT p.capture_id, p.iface, p.first_ts, p.last_ts, p.packets, p.bytes, coalesce(f.flows, 0) AS flows,
           p.malformed
    FROM per_iface p
    LEFT JOIN pcap_flows f ON f.capture_id = p.capture_id AND f.iface = p.iface
    UNION ALL
    SELECT capture_id, iface, first_ts, last_ts, packets, bytes, flows, malformed
    FROM exported
),
rejects AS (
    SELECT capture_id, count(*) AS rejects
    FROM import_rejects
    WHERE capture_id IS NOT NULL
    GROUP BY capture_id
)
SELECT c.capture_id, c.path, s.iface, i.name AS interface, i.linktype,
       strftime(s.first_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS first_ts,
       strftime(s.last_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS last_ts,
       epoch_us(s.first_ts) AS first_us, epoch_us(s.last_ts) AS last_us,
       coalesce(s.packets, 0) AS packets, s.bytes, coalesce(s.flows, 0) AS flows, s.malformed,
       c.malformed AS file_malformed, c.undecoded AS file_undecoded, c.rejected,
       coalesce(r.rejects, 0) AS rejects
FROM captures c
LEFT JOIN spans s ON s.capture_id = c.capture_id
LEFT JOIN interfaces i ON i.capture_id = c.capture_id AND i.iface = s.iface
LEFT JOIN rejects r ON r.capture_id = c.capture_id
ORDER BY c.capture_id, s.iface NULLS LAST
