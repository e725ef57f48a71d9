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
signed AS (
    SELECT t.*, is_home(t.src_ip) AS sh, is_home(t.dst_ip) AS dh
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version) t
    SEMI JOIN app_ports a ON a.proto = t.ip_proto AND a.port = t.dst_port
),
matched AS (  -- both ends classified once: home (sh, dh), internet (si, di: neither home nor special)
    SELECT *, NOT sh AND NOT is_special(src_ip) AS si, NOT dh AND NOT is_special(dst_ip) AS di FROM signed
),
base AS MATERIALIZED (  -- each piece of traffic in the section(s) of its direction
    SELECT 'src_dst' AS section, src_ip, dst_ip, ip_proto, dst_port, CAST(NULL AS UINTEGER) AS out_if, bin,
           unit_amount($unit, bytes, packets, flows) AS amount, bytes, packets, flows
    FROM matched WHERE sh AND di
    UNION ALL
    SELECT 'dst_out_if', NULL, dst_ip, NULL, NULL, out_if, bin, unit_amount($unit, bytes, packets, flows), bytes,
           packets, flows
    FROM matched WHERE sh AND di
    UNION ALL
    SELECT 'in_src_dst', src_ip, dst_ip, ip_proto, dst_port, NULL, bin, unit_amount($unit, bytes, packets, flows),
           bytes, packets, flows
    FROM matched WHERE si AND dh
    UNION ALL
    SELECT 'home_src_dst', src_ip, dst_ip, ip_proto, dst_port, NULL, bin, unit_amount($unit, bytes, packets, flows),
           bytes, packets, flows
    FROM matched WHERE sh AND dh
),
-- rank the items by their totals first; series only for the top $top, Others by subtraction
totals AS (
    SELECT section, src_ip, dst_ip, ip_proto, dst_port, out_if, sum(amount) AS item_total FROM base GROUP BY ALL
),
top_items AS (  -- the $top largest of each section; ties broken by key (a top-N per section, no full sort)
    SELECT *, row_number() OVER (PARTITION BY section ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if) AS item_rank
    FROM (
        (SELECT * FROM totals WHERE section = 'src_dst'
         ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if LIMIT $top)
        UNION ALL
        (SELECT * FROM totals WHERE section = 'dst_out_if'
         ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if LIMIT $top)
        UNION ALL
        (SELECT * FROM totals WHERE section = 'in_src_dst'
         ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if LIMIT $top)
        UNION ALL
        (SELECT * FROM totals WHERE section = 'home_src_dst'
         ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if LIMIT $top)
    )
),
top_bins AS (
    SELECT b.section, t.item_rank AS rank, b.src_ip, b.dst_ip, b.ip_proto, b.dst_port, b.out_if, b.bin,
           sum(b.amount) AS s, sum(b.bytes) AS sb, sum(b.packets) AS sp, sum(b.flows) AS sn, count(*) AS rows_
    FROM base b JOIN top_items t
      ON b.section = t.section AND b.src_ip IS NOT DISTINCT FROM t.src_ip
       AND b.dst_ip IS NOT DISTINCT FROM t.dst_ip
       AND b.ip_proto IS NOT DISTINCT FROM t.ip_proto
       AND b.dst_port IS NOT DISTINCT FROM t.dst_port
       AND b.out_if IS NOT DISTINCT FROM t.out_if
    GROUP BY ALL
),
all_bins AS (
    SELECT section, bin, sum(amount) AS s, sum(bytes) AS sb, sum(packets) AS sp, sum(flows) AS sn, count(*) AS rows_
    FROM base GROUP BY section, bin
),
others_bins AS (  -- Others = everything - the top items, in the bins where something else was seen
    SELECT a.section, $top + 1 AS rank, a.bin, a.s - coalesce(t.s, 0) AS s, a.sb - coalesce(t.sb, 0) AS sb,
           a.sp - coalesce(t.sp, 0) AS sp, a.sn - coalesce(t.sn, 0) AS sn
    FROM all_bins a
    LEFT JOIN (SELECT section, bin, sum(s) AS s, sum(sb) AS sb, sum(sp) AS sp, sum(sn) AS sn, sum(rows_) AS rows_
               FROM top_bins GROUP BY section, bin) t ON t.section = a.section AND t.bin = a.bin
    WHERE a.rows_ > coalesce(t.rows_, 0)
),
labelled AS (
    SELECT section, rank, src_ip, dst_ip, ip_proto, dst_port, out_if, bin, s, sb, sp, sn FROM top_bins
    UNION ALL
    SELECT section, rank, NULL, NULL, NULL, NULL, NULL, bin, s, sb, sp, sn FROM others_bins
)
SELECT section, rank, rank > $top AS others, ip_text(src_ip) AS src_ip, ip_text(dst_ip) AS dst_ip,
       proto_name(ip_proto) AS proto, CAST(dst_port AS VARCHAR) AS dst_port, if_name(out_if) AS out_if, bin,
       sum(s) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                     ELSE $bin_secs END) AS value,
       sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
FROM labelled
GROUP BY GROUPING SETS ((section, rank, src_ip, dst_ip, ip_proto, dst_port, out_if, bin), (section, rank, src_ip, dst_ip, ip_proto, dst_port, out_if))
ORDER BY section, rank, bin NULLS FIRST;
