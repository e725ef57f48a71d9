-- name: top_ports
-- title: Top ports
-- description: The TCP, UDP and SCTP services that carried the most traffic, and the hosts that reached the most of them. Each piece of traffic counts for one port, its service port: for TCP the responder's port where the packets show who answered (SYN with ACK sent: the source port; only SYN without ACK: the destination port), otherwise the well-known or lower-numbered side (below 1024 before above; then the smaller). Section ports: per protocol and service port, in = traffic toward the service, out = traffic from it, total = in + out, in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are totals, peers = distinct client addresses. Section clients: per client address (the side that is not the service), ranked by distinct service ports reached (ports), with peers = distinct servers: a scan shows as one row with its port count. Distinct counts are given for the top items over the period (not per bin, not for Others). --param sections=ports (or clients) computes that section only (default both). Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- param: sections VARCHAR = 'ports,clients'
-- section: ports: proto, port
-- section: clients: ip
-- measures: in, out, total, bytes, packets, flows, ports, peers
-- unit: bps
WITH pieces AS NOT MATERIALIZED (  -- read again by each step, not materialised: a scan costs less (issue 11)
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
base AS NOT MATERIALIZED (  -- service port, the client and server sides, and the direction relative to the service
    SELECT bin, ip_proto,
           CASE WHEN to_service THEN dst_port ELSE src_port END AS svc_port,
           CASE WHEN to_service THEN src_ip ELSE dst_ip END AS client,
           CASE WHEN to_service THEN dst_ip ELSE src_ip END AS server,
           CASE WHEN to_service THEN amount ELSE 0.0 END AS v_in,
           CASE WHEN to_service THEN 0.0 ELSE amount END AS v_out,
           bytes, packets, flows
    FROM pieces
),
keyed AS NOT MATERIALIZED (
    SELECT 'ports' AS section, ip_proto AS k_proto, svc_port AS k_port, NULL::UHUGEINT AS k_ip, * FROM base
    WHERE chosen($sections, 'ports')  -- $sections: which sections to compute (folded to a constant by DuckDB)
    UNION ALL
    SELECT 'clients', NULL, NULL, client, * FROM base WHERE chosen($sections, 'clients')
),
-- rank the items by their totals first; series only for the top $top, Others by subtraction
totals AS (
    SELECT section, k_proto, k_port, k_ip, sum(v_in + v_out) AS item_total FROM keyed
    GROUP BY section, k_proto, k_port, k_ip
),
reach AS (  -- distinct service ports each client reached (to rank the clients section); a port as one number
    SELECT client AS k_ip, count(DISTINCT CAST(ip_proto AS INTEGER) * 65536 + svc_port) AS n_ports
    FROM base WHERE chosen($sections, 'clients') GROUP BY client
),
top_items AS (  -- ports: the $top largest; clients: the $top reaching most ports; ties broken by key (a top-N per
                -- section, no window over every item)
    SELECT *, row_number() OVER (PARTITION BY section ORDER BY n_ports DESC, item_total DESC, k_proto, k_port, k_ip)
                  AS item_rank
    FROM (
        (SELECT *, 0 AS n_ports FROM totals WHERE section = 'ports'
         ORDER BY item_total DESC, k_proto, k_port, k_ip LIMIT $top)
        UNION ALL
        (SELECT t.*, coalesce(r.n_ports, 0) AS n_ports FROM totals t LEFT JOIN reach r ON t.k_ip = r.k_ip
         WHERE t.section = 'clients'
         ORDER BY n_ports DESC, t.item_total DESC, t.k_proto, t.k_port, t.k_ip LIMIT $top)
    )
),
top_rows AS (  -- the top items' traffic
    SELECT k.*, t.item_rank AS rank
    FROM keyed k JOIN top_items t
      ON k.section = t.section AND k.k_proto IS NOT DISTINCT FROM t.k_proto
     AND k.k_port IS NOT DISTINCT FROM t.k_port AND k.k_ip IS NOT DISTINCT FROM t.k_ip
),
top_bins AS (  -- the top items per bin and over the window
    SELECT section, rank, k_proto, k_port, k_ip, bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(bytes) AS sb,
           sum(packets) AS sp, sum(flows) AS sn, count(*) AS rows_
    FROM top_rows
    GROUP BY GROUPING SETS ((section, rank, k_proto, k_port, k_ip, bin), (section, rank, k_proto, k_port, k_ip))
),
top_counts AS (  -- their distinct counts over the window (not per bin): ports and servers of a client, clients
                 -- of a port
    SELECT section, rank,
           count(DISTINCT CAST(ip_proto AS INTEGER) * 65536 + svc_port) FILTER (WHERE section = 'clients') AS n_ports,
           count(DISTINCT server) FILTER (WHERE section = 'clients') AS n_servers,
           count(DISTINCT client) FILTER (WHERE section = 'ports') AS n_clients
    FROM top_rows GROUP BY section, rank
),
all_bins AS (
    SELECT section, bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(bytes) AS sb, sum(packets) AS sp,
           sum(flows) AS sn, count(*) AS rows_
    FROM keyed GROUP BY section, bin
),
others_bins AS (  -- Others = everything - the top items, in the bins where something else was seen
    SELECT a.section, a.bin, a.s_in - coalesce(t.s_in, 0) AS s_in, a.s_out - coalesce(t.s_out, 0) AS s_out,
           a.sb - coalesce(t.sb, 0) AS sb, a.sp - coalesce(t.sp, 0) AS sp, a.sn - coalesce(t.sn, 0) AS sn
    FROM all_bins a
    LEFT JOIN (SELECT section, bin, sum(s_in) AS s_in, sum(s_out) AS s_out, sum(sb) AS sb, sum(sp) AS sp,
                      sum(sn) AS sn, sum(rows_) AS rows_
               FROM top_bins WHERE bin IS NOT NULL GROUP BY section, bin) t ON t.section = a.section AND t.bin = a.bin
    WHERE a.rows_ > coalesce(t.rows_, 0)
),
labelled AS (  -- top items per bin and over the window; Others per bin, then over the window
    SELECT b.section, b.rank, b.k_proto, b.k_port, b.k_ip, b.bin, b.s_in, b.s_out, b.sb, b.sp, b.sn,
           CASE WHEN b.bin IS NULL AND b.section = 'clients' THEN c.n_ports END AS ports,
           CASE WHEN b.bin IS NULL THEN CASE WHEN b.section = 'clients' THEN c.n_servers ELSE c.n_clients END END
               AS peers
    FROM top_bins b JOIN top_counts c ON c.section = b.section AND c.rank = b.rank
    UNION ALL
    SELECT section, $top + 1, NULL, NULL, NULL, bin, s_in, s_out, sb, sp, sn, NULL, NULL FROM others_bins
    UNION ALL
    SELECT section, $top + 1, NULL, NULL, NULL, NULL, sum(s_in), sum(s_out), sum(sb), sum(sp), sum(sn), NULL, NULL
    FROM others_bins GROUP BY section
)
SELECT section, rank, rank > $top AS others, proto_name(k_proto) AS proto, CAST(k_port AS VARCHAR) AS port,
       ip_text(k_ip) AS ip, bin,
       s_in / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END)
           AS "in",
       s_out / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END)
           AS "out",
       (s_in + s_out) / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts)
                                            ELSE $bin_secs END) AS total,
       sb AS bytes, sp AS packets, sn AS flows, ports, peers
FROM labelled
ORDER BY section, rank, bin NULLS FIRST;
