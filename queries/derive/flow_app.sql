-- name: flow_app
-- description: Application labels for the pcap-derived flows of one capture (the rows of flow_app). Input:
--   _app_evidence(frame, app, evidence, ip_proto, src_hi, src_lo, dst_hi, dst_lo, src_port, dst_port), the
--   capture's packets that show an application (addresses in two UBIGINT halves) (the appdata tables,
--   queries/derive/app_evidence.sql, and first payload bytes, forensics/ingest/app_labels.py);
--   _app_frames(frame, ip_proto, src_ip, dst_ip, src_port, dst_port): the capture's packets by frame, for the
--   evidence rows without a 5-tuple (the import gives those packets alone, or the stored ones). A packet
--   labels its connection: every flow of the capture with its 5-tuple, in either direction (a DNS query labels
--   the answer's flow too; a TLS ClientHello the server's). Where a connection shows several applications,
--   the first in `precedence` wins (SMTP before the TLS of STARTTLS, TLS before the HTTP of a CONNECT), then
--   the earliest frame.
-- param: cid INTEGER = 1
WITH precedence(app, rank) AS (
    VALUES ('smtp', 1), ('ssh', 2), ('rdp', 3), ('smb', 4), ('tls', 5), ('quic', 6), ('http', 7), ('dns', 8),
           ('mdns', 9), ('llmnr', 10), ('dhcp', 11), ('ntp', 12)
),
ev AS (  -- the evidence packets with their 5-tuple (found by frame where the evidence lacks it)
    SELECT e.app, e.evidence, e.frame, r.rank, e.ip_proto, (e.src_hi::UHUGEINT << 64) | e.src_lo AS src_ip,
           (e.dst_hi::UHUGEINT << 64) | e.dst_lo AS dst_ip, e.src_port, e.dst_port
    FROM _app_evidence e JOIN precedence r USING (app)
    WHERE e.src_port IS NOT NULL
    UNION ALL
    SELECT e.app, e.evidence, e.frame, r.rank, p.ip_proto, p.src_ip, p.dst_ip, p.src_port, p.dst_port
    FROM _app_evidence e JOIN precedence r USING (app)
    JOIN _app_frames p ON p.frame = e.frame
    WHERE e.src_port IS NULL AND p.src_port IS NOT NULL AND p.dst_port IS NOT NULL
),
directed AS (  -- each connection as both directions
    SELECT ip_proto, src_ip, dst_ip, src_port, dst_port, rank, frame, app, evidence FROM ev
    UNION ALL
    SELECT ip_proto, dst_ip, src_ip, dst_port, src_port, rank, frame, app, evidence FROM ev
),
best AS (  -- the order (rank, frame, a table's message before the payload check of the same frame) as one integer
    SELECT ip_proto, src_ip, dst_ip, src_port, dst_port, arg_min(app, k) AS app, arg_min(evidence, k) AS evidence,
           arg_min(frame, k) AS frame
    FROM (SELECT *, (CAST(rank AS BIGINT) << 33) + (coalesce(CAST(frame AS BIGINT), 4294967295) << 1)
                    + CAST(evidence = 'payload' AS BIGINT) AS k FROM directed)
    GROUP BY ip_proto, src_ip, dst_ip, src_port, dst_port
)
SELECT $cid AS capture_id, f.flow_id, b.app, b.evidence, b.frame
FROM flows f
JOIN best b ON f.ip_proto = b.ip_proto AND f.src_ip = b.src_ip AND f.dst_ip = b.dst_ip
           AND f.src_port = b.src_port AND f.dst_port = b.dst_port
WHERE f.capture_id = $cid AND f.source = 'pcap'
ORDER BY f.flow_id
