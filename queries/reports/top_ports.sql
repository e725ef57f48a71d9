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
           CASE $unit WHEN 'flows' THEN flows WHEN 'bps' THEN bytes WHEN 'bytes' THEN bytes ELSE packets END AS u,
           CASE
               WHEN handshake & 2 = 2 THEN false  -- a SYN with ACK: the server answered from the service port
               WHEN handshake = 1 THEN true       -- a SYN without ACK: the client opened toward the service port
               WHEN (dst_port < 1024) <> (src_port < 1024) THEN dst_port < 1024
               ELSE dst_port <= src_port
           END AS to_service
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version)
    WHERE ip_proto IN (6, 17, 132, 136) AND src_port IS NOT NULL AND dst_port IS NOT NULL
),
base AS NOT MATERIALIZED (  -- the service, the client and server sides, and the unit's count toward the service
    SELECT bin,
           CAST(ip_proto AS INTEGER) * 65536 + CASE WHEN to_service THEN dst_port ELSE src_port END AS k_svc,
           CASE WHEN to_service THEN src_ip ELSE dst_ip END AS client,
           CASE WHEN to_service THEN dst_ip ELSE src_ip END AS server,
           CASE WHEN to_service THEN u ELSE 0 END AS u_in,
           u, bytes, packets, flows
    FROM pieces
),
-- Each section (issue 11): (1) every item's total in one aggregate and the top $top by ORDER BY ... LIMIT; (2) every
-- piece labelled with its item's rank ($top + 1: Others) by a join to those few items, summed per (rank, bin); (3)
-- the top items' distinct peers over their pieces only. No GROUPING SETS over the pieces: DuckDB materialises
-- their input (every piece of the window) to run one aggregate per set. A service is one number,
-- protocol * 65536 + port (one join and grouping key, not two). The measures are summed as integers (u: the count
-- the unit is made of, bytes for bps and bytes, packets for pps and packets, flows for flows; u_in: its part toward
-- the service) and valued in the unit from the sums (labelled): in = u_in, total = bytes/packets/flows, out =
-- total - in; the values the per-piece DOUBLE sums gave wherever those were exact (sums below 2^53). $sections:
-- which sections to compute (chosen() is folded to a constant by DuckDB, as are the tests on $top). With both
-- sections, the (client, service) pairs are summed once and read three times (the services' totals and distinct
-- clients, the clients' totals and distinct services): one aggregate over the pieces instead of three; the whole
-- report on 10 M bench flows 3.56 -> 2.97 s (file) and 3.88 -> 3.32 s (lake), ~150 MB more at its peak
-- (bench/README.md, seventeenth session). The ports section alone keeps its cheaper path (totals by service, then
-- the top services' clients as bit masks): the pairs cost more than both of those passes.
pairs AS MATERIALIZED (  -- with the clients section: each (client, service) pair once with its total
    SELECT client, k_svc, sum(u) AS s_u
    FROM base WHERE chosen($sections, 'clients')
    GROUP BY client, k_svc
),
port_top AS (  -- ports: the $top largest services; ties broken by key
    SELECT k_svc, row_number() OVER (ORDER BY item_total DESC, k_svc) AS item_rank
    FROM (SELECT k_svc, sum(s_u) AS item_total
          FROM (SELECT k_svc, s_u FROM pairs WHERE chosen($sections, 'ports')
                UNION ALL
                SELECT k_svc, u FROM base WHERE chosen($sections, 'ports') AND NOT chosen($sections, 'clients'))
          GROUP BY k_svc
          ORDER BY item_total DESC, k_svc LIMIT $top)
),
port_bins AS (  -- per (rank, bin): the top services and Others
    SELECT coalesce(t.item_rank, $top + 1) AS rank, b.bin, sum(b.u_in) AS ui, sum(b.bytes) AS sb,
           sum(b.packets) AS sp, sum(b.flows) AS sn
    FROM base b LEFT JOIN port_top t ON b.k_svc = t.k_svc
    WHERE chosen($sections, 'ports')
    GROUP BY ALL
),
port_masks AS (  -- ports alone, $top <= 63: each client of the top services once, with the ranks it reached as
                 -- bits: one aggregate by client (~0.9 M groups on 10 M bench flows), not by (rank, client) (~2 M)
    SELECT b.client, bit_or(CAST(1 AS BIGINT) << (t.item_rank - 1)) AS m
    FROM base b JOIN port_top t ON b.k_svc = t.k_svc
    WHERE chosen($sections, 'ports') AND NOT chosen($sections, 'clients') AND $top <= 63 AND b.client IS NOT NULL
    GROUP BY b.client
),
port_peers AS (  -- the distinct clients of each top service over the window: from the pairs with the clients
                 -- section, else from the masks (count(DISTINCT) when $top > 63)
    SELECT t.item_rank AS rank, count(p.client) AS n_peers
    FROM port_top t LEFT JOIN pairs p ON p.k_svc = t.k_svc
    WHERE chosen($sections, 'clients')
    GROUP BY t.item_rank
    UNION ALL
    SELECT t.item_rank AS rank, count(p.client) AS n_peers
    FROM port_top t LEFT JOIN port_masks p ON (p.m >> (t.item_rank - 1)) & 1 = 1
    WHERE $top <= 63 AND NOT chosen($sections, 'clients')
    GROUP BY t.item_rank
    UNION ALL
    SELECT t.item_rank, count(DISTINCT b.client)
    FROM base b JOIN port_top t ON b.k_svc = t.k_svc
    WHERE chosen($sections, 'ports') AND NOT chosen($sections, 'clients') AND $top > 63
    GROUP BY t.item_rank
),
client_totals AS (  -- clients: every client's total and the distinct services it reached, from the pairs
    SELECT client AS k_ip, sum(s_u) AS item_total, count(*) AS n_ports
    FROM pairs
    GROUP BY client
),
client_top AS (  -- the $top clients reaching most services; ties broken by total, then address
    SELECT k_ip, n_ports, row_number() OVER (ORDER BY n_ports DESC, item_total DESC, k_ip) AS item_rank
    FROM (SELECT * FROM client_totals ORDER BY n_ports DESC, item_total DESC, k_ip LIMIT $top)
),
client_bins AS (
    SELECT coalesce(t.item_rank, $top + 1) AS rank, b.bin, sum(b.u_in) AS ui, sum(b.bytes) AS sb,
           sum(b.packets) AS sp, sum(b.flows) AS sn
    FROM base b LEFT JOIN client_top t ON b.client IS NOT DISTINCT FROM t.k_ip
    WHERE chosen($sections, 'clients')
    GROUP BY ALL
),
client_peers AS (  -- the distinct servers of each top client over the window
    SELECT t.item_rank AS rank, count(DISTINCT b.server) AS n_peers
    FROM base b JOIN client_top t ON b.client IS NOT DISTINCT FROM t.k_ip
    WHERE chosen($sections, 'clients')
    GROUP BY t.item_rank
),
port_items AS (  -- per bin and over the window (bin NULL)
    SELECT * FROM port_bins
    UNION ALL
    SELECT rank, NULL, sum(ui), sum(sb), sum(sp), sum(sn) FROM port_bins GROUP BY rank
),
client_items AS (
    SELECT * FROM client_bins
    UNION ALL
    SELECT rank, NULL, sum(ui), sum(sb), sum(sp), sum(sn) FROM client_bins GROUP BY rank
),
labelled AS (  -- top items and Others (rank $top + 1) per bin and over the window; distinct counts for the top
               -- items over the window only; in and total valued in the unit from the summed counts
    SELECT 'ports' AS section, i.rank, CAST(t.k_svc // 65536 AS UTINYINT) AS k_proto,
           CAST(t.k_svc % 65536 AS USMALLINT) AS k_port, NULL::UHUGEINT AS k_ip, i.bin,
           unit_amount($unit, i.ui, i.ui, i.ui) AS s_in, unit_amount($unit, i.sb, i.sp, i.sn) AS s_total, i.sb,
           i.sp, i.sn, NULL::BIGINT AS ports, CASE WHEN i.bin IS NULL THEN p.n_peers END AS peers
    FROM port_items i LEFT JOIN port_top t ON t.item_rank = i.rank LEFT JOIN port_peers p ON p.rank = i.rank
    UNION ALL
    SELECT 'clients', i.rank, NULL, NULL, t.k_ip, i.bin, unit_amount($unit, i.ui, i.ui, i.ui),
           unit_amount($unit, i.sb, i.sp, i.sn), i.sb, i.sp, i.sn,
           CASE WHEN i.bin IS NULL THEN t.n_ports END, CASE WHEN i.bin IS NULL THEN p.n_peers END
    FROM client_items i LEFT JOIN client_top t ON t.item_rank = i.rank LEFT JOIN client_peers p ON p.rank = i.rank
)
SELECT section, rank, rank > $top AS others, proto_name(k_proto) AS proto, CAST(k_port AS VARCHAR) AS port,
       ip_text(k_ip) AS ip, bin,
       s_in / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END)
           AS "in",
       (s_total - s_in) / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts)
                                              ELSE $bin_secs END) AS "out",
       s_total / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts)
                                     ELSE $bin_secs END) AS total,
       sb AS bytes, sp AS packets, sn AS flows, ports, peers
FROM labelled
ORDER BY section, rank, bin NULLS FIRST;
