-- name: unexpected_server
-- title: Unexpected server
-- description: ntopng's unexpected DNS/DHCP/NTP/SMTP server checks: traffic with a server that is not in the configured list (dns_servers, dhcp_servers, ntp_servers, smtp_servers: comma-separated addresses). The server is whoever answered from the service port (udp/tcp 53, udp 67, udp 123, tcp 25/465/587) where an answer is held; a request nobody answered is judged by its destination port (broadcast and multicast destinations excepted). Beside the port rule, the payload: a host that sent a DNS response (the dns table, service dns), a DHCP reply (dhcp, BOOTP op 2) or an NTP server answer (ntp, mode 2 or 4) from another port than the service's is that service's server on that port (DNS to a resolver on 5300, say); its answers in the run count as for the port rule. Default: no list, so with an empty list a server outside the home networks is unexpected (the ntopng guide's example); home servers are then expected. One alert per (service, server, port) and bin (a UTC day by default); value = the packets exchanged with it.
-- severity: medium
-- category: policy
-- param: dns_servers VARCHAR = ''
-- param: dhcp_servers VARCHAR = ''
-- param: ntp_servers VARCHAR = ''
-- param: smtp_servers VARCHAR = ''
-- param: bin_secs BIGINT = 86400
-- needs: check_rows
-- unit: packets
WITH svc(service, proto, port) AS (
    VALUES ('DNS', 17, 53), ('DNS', 6, 53), ('DHCP', 17, 67), ('NTP', 17, 123), ('SMTP', 6, 25), ('SMTP', 6, 465),
           ('SMTP', 6, 587)
),
t AS (
    SELECT first_ts AS ts, last_ts, sec, src_ip, dst_ip, ip_proto, src_port, dst_port, packets
    FROM _check_rows  -- the run's rows summed per second (queries/checks/_check_rows.sql)
    WHERE in_range AND ip_proto IN (6, 17)
      AND (src_port IN (25, 53, 67, 123, 465, 587) OR dst_port IN (25, 53, 67, 123, 465, 587))
),
answers AS (
    SELECT s.service, s.proto, s.port, t.src_ip AS server, t.dst_ip AS client, t.ts, t.last_ts, t.sec, t.packets
    FROM t JOIN svc s ON t.ip_proto = s.proto AND t.src_port = s.port AND t.dst_port <> s.port
),
payload_answers AS (  -- answers the payload shows (queries/schema/appdata.sql) from another port than the service's
    SELECT DISTINCT 'DNS' AS service, CASE d.transport WHEN 'tcp' THEN 6 ELSE 17 END AS proto, d.src_port AS port,
           d.src_ip AS server, d.dst_ip AS client, date_trunc('second', d.ts) AS sec
    FROM dns d, _check_range r
    WHERE d.ts >= r.lo AND d.ts < r.hi AND d.is_response AND d.service = 'dns' AND d.src_port <> 53
      AND NOT (d.transport = 'udp' AND (d.src_port = 137 OR d.dst_port = 137))  -- NetBIOS names, not DNS
    UNION ALL
    SELECT DISTINCT 'DHCP', 17, p.src_port, x.src_ip, x.dst_ip, date_trunc('second', x.ts)
    FROM dhcp x JOIN packets p ON p.capture_id = x.capture_id AND p.frame = x.frame, _check_range r
    WHERE x.ts >= r.lo AND x.ts < r.hi AND x.op = 2 AND p.src_port <> 67
    UNION ALL
    SELECT DISTINCT 'NTP', 17, p.src_port, n.src_ip, n.dst_ip, date_trunc('second', n.ts)
    FROM ntp n JOIN packets p ON p.capture_id = n.capture_id AND p.frame = n.frame, _check_range r
    WHERE n.ts >= r.lo AND n.ts < r.hi AND n.mode IN (2, 4) AND p.src_port <> 123
),
evidence_answers AS (  -- their packets in the run's rows
    SELECT a.service, a.proto, a.port, a.server, a.client, c.first_ts AS ts, c.last_ts, c.sec, c.packets
    FROM _check_rows c
    JOIN payload_answers a ON c.sec = a.sec AND c.src_ip = a.server AND c.dst_ip = a.client
                          AND c.ip_proto = a.proto AND c.src_port = a.port
    WHERE c.in_range
),
requests AS (
    SELECT s.service, s.proto, s.port, t.dst_ip AS server, t.src_ip AS client, t.ts, t.last_ts, t.sec, t.packets
    FROM t JOIN svc s ON t.ip_proto = s.proto AND t.dst_port = s.port AND t.src_port <> s.port
),
judged AS (
    SELECT * FROM answers
    UNION ALL
    SELECT * FROM evidence_answers
    UNION ALL
    SELECT r.* FROM requests r
    WHERE NOT EXISTS (SELECT 1 FROM answers a WHERE a.service = r.service AND a.client = r.client)
      AND NOT (r.server = ipv4('255.255.255.255') OR r.server BETWEEN ipv4('224.0.0.0') AND ipv4('239.255.255.255')
               OR r.server >= CAST('0xff000000000000000000000000000000' AS UHUGEINT))
    UNION ALL
    SELECT r.* FROM requests r  -- requests to a server that answered someone: the same server
    WHERE EXISTS (SELECT 1 FROM answers a WHERE a.service = r.service AND a.client = r.client AND a.server = r.server)
),
allowed AS (
    SELECT *, CASE service WHEN 'DNS' THEN $dns_servers WHEN 'DHCP' THEN $dhcp_servers WHEN 'NTP' THEN $ntp_servers
                  ELSE $smtp_servers END AS list_text
    FROM judged
),
unexpected AS (
    SELECT * FROM allowed
    WHERE CASE WHEN trim(list_text) = '' THEN NOT is_home(server)
               ELSE NOT list_contains(string_split(replace(list_text, ' ', ''), ','), ip_text(server)) END
)
SELECT ip_text(server) AS entity, min(ts) AS window_start,
       greatest(max(last_ts) + INTERVAL 1 SECOND, time_bin(min(sec), $bin_secs) + to_seconds($bin_secs)) AS window_end,
       CAST(sum(packets) AS DOUBLE) AS value, CAST(0 AS DOUBLE) AS threshold, 'packets' AS unit,
       printf('%s server %s (%s/%d): %d packets with %d client(s) (%s); not a configured %s server (%s)', service,
              ip_text(server), proto_name(proto), port, sum(packets), count(DISTINCT client),
              array_to_string(list_sort(list_distinct(list(ip_text(client))))[1:5], ', '), service,
              CASE WHEN trim(any_value(list_text)) = '' THEN 'none configured: outside the home networks'
                   ELSE 'configured: ' || any_value(list_text) END) AS detail,
       'host ' || ip_text(server) || ' and ' || proto_name(proto) || ' port ' || CAST(port AS VARCHAR) AS evidence
FROM unexpected
GROUP BY service, proto, port, server, time_bin(sec, $bin_secs)
ORDER BY window_start, entity;
