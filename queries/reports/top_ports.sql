-- name: top_ports
-- title: Top ports
-- description: The TCP, UDP and SCTP services that carried the most traffic, and the hosts that reached the most of them. Each piece of traffic counts for one port, its service port: for TCP the responder's port where the packets show who answered (SYN with ACK sent: the source port; only SYN without ACK: the destination port), otherwise the well-known or lower-numbered side (below 1024 before above; then the smaller). Section ports: per protocol and service port, in = traffic toward the service, out = traffic from it, total = in + out, in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are totals, peers = distinct client addresses. Section clients: per client address (the side that is not the service), ranked by distinct service ports reached (ports), with peers = distinct servers: a scan shows as one row with its port count. Binned by packet time where the case holds the packets, by flow start for exported flows.
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
totals AS (
    SELECT section, k_proto, k_port, k_ip, sum(v_in + v_out) AS item_total,
           count(DISTINCT (ip_proto, svc_port)) AS n_ports
    FROM keyed GROUP BY section, k_proto, k_port, k_ip
),
top_items AS (  -- ports: the $top largest; clients: the $top reaching most ports; ties broken by key
    SELECT *, row_number() OVER (PARTITION BY section
                                 ORDER BY CASE WHEN section = 'clients' THEN n_ports ELSE 0 END DESC,
                                          item_total DESC, k_proto, k_port, k_ip) AS item_rank
    FROM totals
    QUALIFY item_rank <= $top
),
labelled AS (  -- everything else is folded into one 'Others' row per section (rank $top + 1)
    SELECT k.section, coalesce(t.item_rank, $top + 1) AS rank, t.k_proto AS r_proto, t.k_port AS r_port,
           t.k_ip AS r_ip, k.*
    EXCLUDE (section, k_proto, k_port, k_ip)
    FROM keyed k LEFT JOIN top_items t
      ON k.section = t.section AND k.k_proto IS NOT DISTINCT FROM t.k_proto
     AND k.k_port IS NOT DISTINCT FROM t.k_port AND k.k_ip IS NOT DISTINCT FROM t.k_ip
)
SELECT section, rank, rank > $top AS others, proto_name(r_proto) AS proto, CAST(r_port AS VARCHAR) AS port,
       ip_text(r_ip) AS ip, bin,
       sum(v_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                       ELSE $bin_secs END) AS "in",
       sum(v_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                         ELSE $bin_secs END) AS "out",
       sum(v_in + v_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                               ELSE $bin_secs END) AS total,
       sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows,
       CASE WHEN section = 'clients' OR rank > $top THEN count(DISTINCT (ip_proto, svc_port)) END AS ports,
       CASE WHEN section = 'clients' THEN count(DISTINCT server) ELSE count(DISTINCT client) END AS peers
FROM labelled
GROUP BY GROUPING SETS ((section, rank, r_proto, r_port, r_ip, bin), (section, rank, r_proto, r_port, r_ip))
ORDER BY section, rank, bin NULLS FIRST;
