-- name: tls_sni
-- title: TLS server names and fingerprints
-- description: The server names (SNI) clients asked for in TLS ClientHellos, with their JA3 and JA4 fingerprints and the servers they went to, from the case's tls table (queries/schema/appdata.sql: hellos read from packet payloads at import, on any port). Section snis: the $top SNIs by ClientHellos ('(none)' for hellos without one), with the JA3 (MD5) and JA4 fingerprints that sent them and the server addresses (most frequent first, three shown); handshakes = ClientHellos, hosts = distinct clients. Section fingerprints: the $top (JA3, JA4) pairs by ClientHellos, with the SNIs they asked for (five shown): one client program, whatever names it asks (a beacon keeps its fingerprint); hosts = distinct clients, names = distinct SNIs. The scope and --filter select the packets that carry the hellos (their flow key and bin must be kept). Counts per bin and over the window.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- section: snis: sni, ja3, ja4, servers
-- section: fingerprints: ja3, ja4, snis
-- measures: handshakes, hosts, names
-- unit: packets
WITH hellos AS MATERIALIZED (  -- the ClientHellos in the window whose packet the scope and --filter keep
    SELECT time_bin(t.ts, $bin_secs) AS bin, t.src_ip AS client, t.dst_ip AS server,
           coalesce(t.sni, '(none)') AS sni, t.ja3_md5 AS ja3, coalesce(t.ja4, '-') AS ja4
    FROM tls t
    WHERE t.ts >= $from_ts AND t.ts < $to_ts AND t.handshake = 'client_hello'
      AND EXISTS (SELECT 1 FROM _packet_bins pb
                  WHERE pb.filter IS NULL AND pb.bin = time_bin(t.ts, $bin_secs) AND pb.src_ip = t.src_ip
                    AND pb.dst_ip = t.dst_ip AND pb.src_port = t.src_port AND pb.dst_port = t.dst_port)
),
snis AS (
    SELECT sni, count(*) AS handshakes, count(DISTINCT client) AS hosts,
           row_number() OVER (ORDER BY count(*) DESC, sni) AS rank
    FROM hellos GROUP BY sni
    QUALIFY rank <= $top
),
sni_lists AS (  -- per top SNI: its fingerprints and servers, most frequent first
    SELECT s.rank,
           (SELECT list(x.v ORDER BY x.n DESC, x.v) FROM (SELECT ja3 AS v, count(*) AS n FROM hellos h
                                                         WHERE h.sni = s.sni GROUP BY ALL) x) AS ja3s,
           (SELECT list(x.v ORDER BY x.n DESC, x.v) FROM (SELECT ja4 AS v, count(*) AS n FROM hellos h
                                                         WHERE h.sni = s.sni GROUP BY ALL) x) AS ja4s,
           (SELECT list(ip_text(x.v) ORDER BY x.n DESC, x.v) FROM (SELECT server AS v, count(*) AS n FROM hellos h
                                                                   WHERE h.sni = s.sni GROUP BY ALL) x) AS servers
    FROM snis s
),
prints AS (
    SELECT ja3, ja4, count(*) AS handshakes, count(DISTINCT client) AS hosts, count(DISTINCT sni) AS names,
           list(DISTINCT sni) AS sni_list, row_number() OVER (ORDER BY count(*) DESC, ja3, ja4) AS rank
    FROM hellos GROUP BY ja3, ja4
    QUALIFY rank <= $top
)
SELECT 'snis' AS section, s.rank, s.sni,
       array_to_string(l.ja3s[1:3], ', ') || CASE WHEN array_length(l.ja3s) > 3 THEN printf(' (+%d)', array_length(l.ja3s) - 3) ELSE '' END
           AS ja3,
       array_to_string(l.ja4s[1:3], ', ') || CASE WHEN array_length(l.ja4s) > 3 THEN printf(' (+%d)', array_length(l.ja4s) - 3) ELSE '' END
           AS ja4,
       array_to_string(l.servers[1:3], ', ')
           || CASE WHEN array_length(l.servers) > 3 THEN printf(' (+%d)', array_length(l.servers) - 3) ELSE '' END AS servers,
       NULL AS snis, CAST(NULL AS TIMESTAMP) AS bin, s.handshakes, s.hosts, NULL AS names
FROM snis s JOIN sni_lists l USING (rank)
UNION ALL
SELECT 'snis', s.rank, s.sni, NULL, NULL, NULL, NULL, h.bin, count(*), count(DISTINCT h.client), NULL
FROM snis s JOIN hellos h USING (sni) GROUP BY s.rank, s.sni, h.bin
UNION ALL
SELECT 'fingerprints', p.rank, NULL, p.ja3, p.ja4, NULL,
       array_to_string(list_sort(p.sni_list)[1:5], ', ')
           || CASE WHEN array_length(p.sni_list) > 5 THEN printf(' (+%d)', array_length(p.sni_list) - 5) ELSE '' END,
       NULL, p.handshakes, p.hosts, p.names
FROM prints p
UNION ALL
SELECT 'fingerprints', p.rank, NULL, p.ja3, p.ja4, NULL, NULL, h.bin, count(*), count(DISTINCT h.client),
       count(DISTINCT h.sni)
FROM prints p JOIN hellos h USING (ja3, ja4) GROUP BY p.rank, p.ja3, p.ja4, h.bin
ORDER BY section DESC, rank, bin NULLS FIRST;
