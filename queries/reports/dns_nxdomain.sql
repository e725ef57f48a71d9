-- name: dns_nxdomain
-- title: DNS NXDOMAIN answers
-- description: Who asked for names that do not exist, and who said so, from the case's dns table (queries/schema/appdata.sql): a host with many NXDOMAIN answers is often malware trying generated domains (DGA) or a broken configuration. Section clients: the $top addresses that received NXDOMAIN responses (rcode 3), by their count, with the names they asked (most answered first, five shown); nxdomain = NXDOMAIN responses received, names = distinct names, hosts = distinct servers that answered them. Section servers: the $top addresses that sent NXDOMAIN responses; hosts = distinct clients answered. Section names: the $top names answered NXDOMAIN; hosts = distinct clients. The scope and --filter select the packets that carry the responses (their flow key and bin must be kept). service: dns (default), mdns, llmnr or any. Counts per bin and over the window.
-- param: top INTEGER = 10
-- param: service VARCHAR = 'dns'
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- section: clients: client, asked
-- section: servers: server
-- section: names: qname
-- measures: nxdomain, names, hosts
-- unit: packets
WITH nx AS MATERIALIZED (  -- the NXDOMAIN responses in the window whose packet the scope and --filter keep
    SELECT time_bin(d.ts, $bin_secs) AS bin, d.src_ip AS server, d.dst_ip AS client,
           coalesce(d.qname, '(no question)') AS qname
    FROM dns d
    WHERE d.ts >= $from_ts AND d.ts < $to_ts AND d.is_response AND d.rcode = 3
      AND ($service = 'any' OR d.service = $service)
      AND NOT (d.transport = 'udp' AND (d.src_port = 137 OR d.dst_port = 137))  -- NetBIOS names (tshark: nbns)
      AND EXISTS (SELECT 1 FROM _packet_bins pb
                  WHERE pb.filter IS NULL AND pb.bin = time_bin(d.ts, $bin_secs) AND pb.src_ip = d.src_ip
                    AND pb.dst_ip = d.dst_ip AND pb.src_port = d.src_port AND pb.dst_port = d.dst_port)
),
clients AS (
    SELECT client, count(*) AS nxdomain, count(DISTINCT qname) AS names, count(DISTINCT server) AS hosts,
           row_number() OVER (ORDER BY count(*) DESC, client) AS rank
    FROM nx GROUP BY client
    QUALIFY rank <= $top
),
asked AS (
    SELECT c.rank, list(q.qname ORDER BY q.n DESC, q.qname) AS qnames
    FROM clients c JOIN (SELECT client, qname, count(*) AS n FROM nx GROUP BY ALL) q USING (client)
    GROUP BY c.rank
),
servers AS (
    SELECT server, count(*) AS nxdomain, count(DISTINCT qname) AS names, count(DISTINCT client) AS hosts,
           row_number() OVER (ORDER BY count(*) DESC, server) AS rank
    FROM nx GROUP BY server
    QUALIFY rank <= $top
),
names AS (
    SELECT qname, count(*) AS nxdomain, count(DISTINCT client) AS hosts,
           row_number() OVER (ORDER BY count(*) DESC, qname) AS rank
    FROM nx GROUP BY qname
    QUALIFY rank <= $top
)
SELECT 'clients' AS section, c.rank, ip_text(c.client) AS client,
       array_to_string(a.qnames[1:5], ', ')
           || CASE WHEN array_length(a.qnames) > 5 THEN printf(' (+%d)', array_length(a.qnames) - 5) ELSE '' END AS asked,
       NULL AS server, NULL AS qname, CAST(NULL AS TIMESTAMP) AS bin, c.nxdomain, c.names, c.hosts
FROM clients c JOIN asked a USING (rank)
UNION ALL
SELECT 'clients', c.rank, ip_text(c.client), NULL, NULL, NULL, n.bin, count(*), count(DISTINCT n.qname),
       count(DISTINCT n.server)
FROM clients c JOIN nx n USING (client) GROUP BY c.rank, c.client, n.bin
UNION ALL
SELECT 'servers', s.rank, NULL, NULL, ip_text(s.server), NULL, NULL, s.nxdomain, s.names, s.hosts
FROM servers s
UNION ALL
SELECT 'servers', s.rank, NULL, NULL, ip_text(s.server), NULL, n.bin, count(*), count(DISTINCT n.qname),
       count(DISTINCT n.client)
FROM servers s JOIN nx n USING (server) GROUP BY s.rank, s.server, n.bin
UNION ALL
SELECT 'names', m.rank, NULL, NULL, NULL, m.qname, NULL, m.nxdomain, NULL, m.hosts
FROM names m
UNION ALL
SELECT 'names', m.rank, NULL, NULL, NULL, m.qname, n.bin, count(*), NULL, count(DISTINCT n.client)
FROM names m JOIN nx n USING (qname) GROUP BY m.rank, m.qname, n.bin
ORDER BY section, rank, bin NULLS FIRST;
