-- name: dns_names
-- title: DNS names and servers
-- description: The names asked in DNS and the servers that answered, from the case's dns table (queries/schema/appdata.sql: DNS read from packet payloads at import, on any port). Section names: the $top names (first question, qname) by queries, with the servers that answered them (busiest first, five shown); queries = DNS queries asking the name, responses = responses naming it, nxdomain = of those, rcode 3 (NXDOMAIN), hosts = distinct askers. Section servers: the $top addresses that sent DNS responses, by responses; names = distinct names answered, hosts = distinct clients answered, nxdomain = NXDOMAIN responses. A message is one row of the dns table (one per packet, several when a TCP segment holds several). The scope and --filter select the packets that carry the messages (their flow key and bin must be kept: a filter on flow-key fields is exact). service: dns (default), mdns, llmnr or any. Counts per bin and over the window.
-- param: top INTEGER = 10
-- param: service VARCHAR = 'dns'
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- section: names: qname, servers
-- section: servers: server
-- measures: queries, responses, nxdomain, hosts, names
-- unit: packets
WITH msgs AS MATERIALIZED (  -- the messages in the window whose packet the scope and --filter keep
    SELECT d.ts, time_bin(d.ts, $bin_secs) AS bin, d.src_ip, d.dst_ip, d.is_response, d.rcode,
           coalesce(d.qname, '(no question)') AS qname
    FROM dns d
    WHERE d.ts >= $from_ts AND d.ts < $to_ts AND ($service = 'any' OR d.service = $service)
      AND NOT (d.transport = 'udp' AND (d.src_port = 137 OR d.dst_port = 137))  -- NetBIOS names (tshark: nbns)
      AND EXISTS (SELECT 1 FROM _packet_bins pb
                  WHERE pb.filter IS NULL AND pb.bin = time_bin(d.ts, $bin_secs) AND pb.src_ip = d.src_ip
                    AND pb.dst_ip = d.dst_ip AND pb.src_port = d.src_port AND pb.dst_port = d.dst_port)
),
names AS (
    SELECT qname, count(*) FILTER (NOT is_response) AS queries, count(*) FILTER (is_response) AS responses,
           count(*) FILTER (is_response AND rcode = 3) AS nxdomain,
           count(DISTINCT src_ip) FILTER (NOT is_response) AS hosts,
           row_number() OVER (ORDER BY count(*) FILTER (NOT is_response) DESC, count(*) DESC, qname) AS rank
    FROM msgs GROUP BY qname
    QUALIFY rank <= $top
),
name_servers AS (  -- who answered each top name, busiest first
    SELECT n.rank, list(ip_text(s.server) ORDER BY s.n DESC, s.server) AS servers, count(*) AS n_servers
    FROM names n
    JOIN (SELECT qname, src_ip AS server, count(*) AS n FROM msgs WHERE is_response GROUP BY ALL) s USING (qname)
    GROUP BY n.rank
),
servers AS (
    SELECT src_ip AS server, count(*) AS responses, count(*) FILTER (rcode = 3) AS nxdomain,
           count(DISTINCT qname) AS names, count(DISTINCT dst_ip) AS hosts,
           row_number() OVER (ORDER BY count(*) DESC, src_ip) AS rank
    FROM msgs WHERE is_response GROUP BY src_ip
    QUALIFY rank <= $top
)
SELECT 'names' AS section, n.rank, n.qname,
       coalesce(array_to_string(ns.servers[1:5], ', ')
                || CASE WHEN ns.n_servers > 5 THEN printf(' (+%d)', ns.n_servers - 5) ELSE '' END, '-') AS servers,
       NULL AS server, CAST(NULL AS TIMESTAMP) AS bin,
       n.queries, n.responses, n.nxdomain, n.hosts, NULL AS names
FROM names n LEFT JOIN name_servers ns USING (rank)
UNION ALL
SELECT 'names', n.rank, n.qname, NULL, NULL, m.bin,
       count(*) FILTER (NOT m.is_response), count(*) FILTER (m.is_response),
       count(*) FILTER (m.is_response AND m.rcode = 3), count(DISTINCT m.src_ip) FILTER (NOT m.is_response), NULL
FROM names n JOIN msgs m USING (qname)
GROUP BY n.rank, n.qname, m.bin
UNION ALL
SELECT 'servers', s.rank, NULL, NULL, ip_text(s.server), NULL, NULL, s.responses, s.nxdomain, s.hosts, s.names
FROM servers s
UNION ALL
SELECT 'servers', s.rank, NULL, NULL, ip_text(s.server), m.bin, NULL, count(*),
       count(*) FILTER (m.rcode = 3), count(DISTINCT m.dst_ip), count(DISTINCT m.qname)
FROM servers s JOIN msgs m ON m.src_ip = s.server AND m.is_response
GROUP BY s.rank, s.server, m.bin
ORDER BY section, rank, bin NULLS FIRST;
