-- name: top_ports
-- title: Top ports
-- description: The TCP, UDP and SCTP services that carried the most traffic, and the hosts that reached the most of them. Each piece of traffic counts for one port, its service port: for TCP the responder's port where the packets show who answered (SYN with ACK sent: the source port; only SYN without ACK: the destination port), otherwise the well-known or lower-numbered side (below 1024 before above; then the smaller). Section ports: per protocol and service port, in = traffic toward the service, out = traffic from it, total = in + out, in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are totals, peers = distinct client addresses. Section clients: per client address (the side that is not the service), ranked by distinct service ports reached (ports), with peers = distinct servers: a scan shows as one row with its port count. Distinct counts are given for the top items over the period (not per bin, not for Others). Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- section: ports: proto, port
-- section: clients: ip
-- measures: in, out, total, bytes, packets, flows, ports, peers
-- unit: bps
WITH pieces AS (
    SELECT bin, ip_proto, src_ip, dst_ip, src_port, dst_port, bytes, packets, flows,
           unit_amount($unit, bytes, packets, flows) AS amount,
           CASE
               WHEN handshake & 2 = 2 THEN false  -- a SYN with ACK: the server answered from the service port
               WHEN handshake = 1 THEN true       -- a SYN without ACK: the client opened toward the service port
               WHEN (dst_port < 1024) <> (src_port < 1024) THEN dst_port < 1024
               ELSE dst_port <= src_port
           END AS to_service
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version)
    WHERE ip_proto IN (6, 17, 132, 136) AND src_port IS NOT NULL AND dst_port IS NOT NULL
),
base AS (  -- service port, the client and server sides, and the direction relative to the service
    SELECT bin, ip_proto,
           CASE WHEN to_service THEN dst_port ELSE src_port END AS svc_port,
           CASE WHEN to_service THEN src_ip ELSE dst_ip END AS client,
           CASE WHEN to_service THEN dst_ip ELSE src_ip END AS server,
           CASE WHEN to_service THEN amount ELSE 0.0 END AS v_in,
           CASE WHEN to_service THEN 0.0 ELSE amount END AS v_out,
           bytes, packets, flows
    FROM pieces
),
keyed AS (
    SELECT 'ports' AS section, ip_proto AS k_proto, svc_port AS k_port, NULL::UHUGEINT AS k_ip, * FROM base
    UNION ALL
    SELECT 'clients', NULL, NULL, client, * FROM base
),
per_bin AS (
    SELECT section, k_proto, k_port, k_ip, bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(bytes) AS sb,
           sum(packets) AS sp, sum(flows) AS sn
    FROM keyed GROUP BY section, k_proto, k_port, k_ip, bin
),
totals AS (
    SELECT section, k_proto, k_port, k_ip, sum(s_in + s_out) AS item_total FROM per_bin
    GROUP BY section, k_proto, k_port, k_ip
),
reach AS (  -- distinct service ports each client reached (to rank the clients section)
    SELECT client AS k_ip, count(DISTINCT (ip_proto, svc_port)) AS n_ports FROM base GROUP BY client
),
top_items AS (  -- ports: the $top largest; clients: the $top reaching most ports; ties broken by key
    SELECT t.*, row_number() OVER (PARTITION BY t.section
                                   ORDER BY coalesce(r.n_ports, 0) DESC, t.item_total DESC, t.k_proto, t.k_port,
                                            t.k_ip) AS item_rank
    FROM totals t LEFT JOIN reach r ON t.section = 'clients' AND t.k_ip = r.k_ip
    QUALIFY item_rank <= $top
),
distinct_counts AS (  -- for the top items only: ports reached and peers (clients of a port, servers of a client)
    SELECT 'ports' AS section, b.ip_proto AS k_proto, b.svc_port AS k_port, NULL::UHUGEINT AS k_ip,
           NULL::BIGINT AS ports, count(DISTINCT b.client) AS peers
    FROM base b SEMI JOIN top_items t ON t.section = 'ports' AND b.ip_proto = t.k_proto AND b.svc_port = t.k_port
    GROUP BY b.ip_proto, b.svc_port
    UNION ALL
    SELECT 'clients', NULL, NULL, b.client, count(DISTINCT (b.ip_proto, b.svc_port)), count(DISTINCT b.server)
    FROM base b SEMI JOIN top_items t ON t.section = 'clients' AND b.client = t.k_ip
    GROUP BY b.client
),
labelled AS (  -- everything else is folded into one 'Others' row per section (rank $top + 1)
    SELECT p.section, coalesce(t.item_rank, $top + 1) AS rank, t.k_proto AS r_proto, t.k_port AS r_port,
           t.k_ip AS r_ip, p.bin, p.s_in, p.s_out, p.sb, p.sp, p.sn
    FROM per_bin p LEFT JOIN top_items t
      ON p.section = t.section AND p.k_proto IS NOT DISTINCT FROM t.k_proto
     AND p.k_port IS NOT DISTINCT FROM t.k_port AND p.k_ip IS NOT DISTINCT FROM t.k_ip
),
grouped AS (
    SELECT section, rank, r_proto, r_port, r_ip, bin,
           sum(s_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                           ELSE $bin_secs END) AS "in",
           sum(s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                             ELSE $bin_secs END) AS "out",
           sum(s_in + s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                                   ELSE $bin_secs END) AS total,
           sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
    FROM labelled
    GROUP BY GROUPING SETS ((section, rank, r_proto, r_port, r_ip, bin), (section, rank, r_proto, r_port, r_ip))
)
-- distinct counts on the item rows of the top items (not per bin, not for Others)
SELECT g.section, g.rank, g.rank > $top AS others, proto_name(g.r_proto) AS proto, CAST(g.r_port AS VARCHAR) AS port,
       ip_text(g.r_ip) AS ip, g.bin, g."in", g."out", g.total, g.bytes, g.packets, g.flows,
       CASE WHEN g.bin IS NULL THEN d.ports END AS ports, CASE WHEN g.bin IS NULL THEN d.peers END AS peers
FROM grouped g LEFT JOIN distinct_counts d
  ON g.rank <= $top AND d.section = g.section AND d.k_proto IS NOT DISTINCT FROM g.r_proto
 AND d.k_port IS NOT DISTINCT FROM g.r_port AND d.k_ip IS NOT DISTINCT FROM g.r_ip
ORDER BY g.section, g.rank, g.bin NULLS FIRST;
