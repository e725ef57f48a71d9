-- name: wannacry
-- title: WannaCry
-- description: Traffic on the WannaCry.attack signature (destination protocol and port, from the case config's applications). Home = an address in a home network; internet = an address neither in home nor multicast, broadcast, link-local, loopback or unspecified. Sections: (1) home -> internet, source IP -> destination IP with destination protocol and port; (2) home -> internet, destination IP with the output interface (these two are GenieATM's); (3) internet -> home, source IP -> destination IP with protocol and port (inbound probes); (4) home -> home, source IP -> destination IP with protocol and port (internal spread). value is in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are totals, peers the distinct destinations of the item's source. Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: app VARCHAR = 'WannaCry.attack'
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- section: src_dst: src_ip, dst_ip, proto, dst_port
-- section: dst_out_if: dst_ip, out_if
-- section: in_src_dst: src_ip, dst_ip, proto, dst_port
-- section: home_src_dst: src_ip, dst_ip, proto, dst_port
-- measures: value, bytes, packets, flows
-- unit: bps
WITH app_ports AS (  -- the signature as (protocol, port) pairs: an equality join instead of a range test per row
    SELECT DISTINCT ap.proto, CAST(unnest(range(ap.port_lo, ap.port_hi + 1)) AS USMALLINT) AS port
    FROM _apps ap WHERE ap.app = $app
),
-- each piece of signature traffic classified once into the section of its direction, a number: 1 home ->
-- internet (src_dst; dst_out_if reads the same rows), 3 internet -> home, 4 home -> home (else none). Home =
-- is_home (traffic()'s src_home, dst_home); internet = neither home nor is_special. One key (src, dst, proto, port) serves sections 1, 3 and 4.
matched AS MATERIALIZED (  -- (the sections are not filtered here: DuckDB would test them before the join)
    SELECT t.src_ip, t.dst_ip, t.ip_proto, t.dst_port, t.out_if, t.bin,
           unit_amount($unit, t.bytes, t.packets, t.flows) AS amount, t.bytes, t.packets, t.flows,
           CASE WHEN t.src_home THEN (CASE WHEN t.dst_home THEN 4
                                          WHEN NOT is_special(t.dst_ip) THEN 1 END)
                WHEN t.dst_home AND NOT is_special(t.src_ip) THEN 3 END AS sec
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version) t
    SEMI JOIN app_ports a ON a.proto = t.ip_proto AND a.port = t.dst_port
),
-- rank the items by their totals first; series only for the top $top, Others by subtraction
totals AS (  -- sections 1, 3, 4 in one aggregate; section 2 (destination, output interface) from section 1's rows
    SELECT sec, src_ip, dst_ip, ip_proto, dst_port, CAST(NULL AS UINTEGER) AS out_if, sum(amount) AS item_total
    FROM matched WHERE sec IS NOT NULL GROUP BY sec, src_ip, dst_ip, ip_proto, dst_port
    UNION ALL
    SELECT 2, NULL, dst_ip, NULL, NULL, out_if, sum(amount) FROM matched WHERE sec = 1 GROUP BY dst_ip, out_if
),
top_items AS (  -- the $top largest of each section; ties broken by key (a top-N per section, no full sort)
    SELECT *, row_number() OVER (PARTITION BY sec ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if) AS item_rank
    FROM (
        (SELECT * FROM totals WHERE sec = 1
         ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if LIMIT $top)
        UNION ALL
        (SELECT * FROM totals WHERE sec = 2
         ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if LIMIT $top)
        UNION ALL
        (SELECT * FROM totals WHERE sec = 3
         ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if LIMIT $top)
        UNION ALL
        (SELECT * FROM totals WHERE sec = 4
         ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if LIMIT $top)
    )
),
top_bins AS (
    SELECT t.sec, t.item_rank AS rank, t.src_ip, t.dst_ip, t.ip_proto, t.dst_port, t.out_if, m.bin,
           sum(m.amount) AS s, sum(m.bytes) AS sb, sum(m.packets) AS sp, sum(m.flows) AS sn, count(*) AS rows_
    FROM matched m JOIN top_items t
      ON t.sec <> 2 AND m.sec = t.sec AND m.src_ip = t.src_ip AND m.dst_ip = t.dst_ip AND m.ip_proto = t.ip_proto
       AND m.dst_port = t.dst_port
    GROUP BY ALL
    UNION ALL
    SELECT t.sec, t.item_rank, t.src_ip, t.dst_ip, t.ip_proto, t.dst_port, t.out_if, m.bin,
           sum(m.amount), sum(m.bytes), sum(m.packets), sum(m.flows), count(*)
    FROM matched m JOIN top_items t
      ON t.sec = 2 AND m.sec = 1 AND m.dst_ip = t.dst_ip AND m.out_if IS NOT DISTINCT FROM t.out_if
    GROUP BY ALL
),
per_sec_bin AS (
    SELECT sec, bin, sum(amount) AS s, sum(bytes) AS sb, sum(packets) AS sp, sum(flows) AS sn, count(*) AS rows_
    FROM matched WHERE sec IS NOT NULL GROUP BY sec, bin
),
all_bins AS (  -- everything per section and bin (section 2 holds section 1's traffic)
    SELECT sec, bin, s, sb, sp, sn, rows_ FROM per_sec_bin
    UNION ALL
    SELECT 2, bin, s, sb, sp, sn, rows_ FROM per_sec_bin WHERE sec = 1
),
others_bins AS (  -- Others = everything - the top items, in the bins where something else was seen
    SELECT a.sec, $top + 1 AS rank, a.bin, a.s - coalesce(t.s, 0) AS s, a.sb - coalesce(t.sb, 0) AS sb,
           a.sp - coalesce(t.sp, 0) AS sp, a.sn - coalesce(t.sn, 0) AS sn
    FROM all_bins a
    LEFT JOIN (SELECT sec, bin, sum(s) AS s, sum(sb) AS sb, sum(sp) AS sp, sum(sn) AS sn, sum(rows_) AS rows_
               FROM top_bins GROUP BY sec, bin) t ON t.sec = a.sec AND t.bin = a.bin
    WHERE a.rows_ > coalesce(t.rows_, 0)
),
labelled AS (
    SELECT sec, rank, src_ip, dst_ip, ip_proto, dst_port, out_if, bin, s, sb, sp, sn FROM top_bins
    UNION ALL
    SELECT sec, rank, NULL, NULL, NULL, NULL, NULL, bin, s, sb, sp, sn FROM others_bins
)
SELECT CASE sec WHEN 1 THEN 'src_dst' WHEN 2 THEN 'dst_out_if' WHEN 3 THEN 'in_src_dst' ELSE 'home_src_dst' END
           AS section,
       rank, rank > $top AS others, ip_text(src_ip) AS src_ip, ip_text(dst_ip) AS dst_ip,
       proto_name(ip_proto) AS proto, CAST(dst_port AS VARCHAR) AS dst_port, if_name(out_if) AS out_if, bin,
       sum(s) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                     ELSE $bin_secs END) AS value,
       sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
FROM labelled
GROUP BY GROUPING SETS ((sec, rank, src_ip, dst_ip, ip_proto, dst_port, out_if, bin),
                        (sec, rank, src_ip, dst_ip, ip_proto, dst_port, out_if))
ORDER BY section, rank, bin NULLS FIRST;
