-- name: attributes
-- title: Attribute report
-- description: Top N of any combination of attributes (src_ip, dst_ip, proto, src_port, dst_port, in_if, out_if, app, src_as, dst_as, vlan), with an Others row and a time series per item. in = traffic into home (destination in a home network), out = traffic out of home (source in a home network), total = all traffic of the item. Values are in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are the item's totals. Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: attributes VARCHAR = 'src_ip,dst_ip'
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: src_ip, dst_ip, proto, src_port, dst_port, in_if, out_if, app, src_as, dst_as, vlan
-- measures: in, out, total, bytes, packets, flows
-- unit: bps
WITH sel AS (
    SELECT string_split(replace($attributes, ' ', ''), ',') AS a
),
base AS (
    SELECT f.*, unit_amount($unit, f.bytes, f.packets, f.flows) AS amount
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version) f
),
keyed AS (
    SELECT
        CASE WHEN list_contains(s.a, 'src_ip') THEN b.src_ip END AS k_src_ip,
        CASE WHEN list_contains(s.a, 'dst_ip') THEN b.dst_ip END AS k_dst_ip,
        CASE WHEN list_contains(s.a, 'proto') THEN b.ip_proto END AS k_proto,
        CASE WHEN list_contains(s.a, 'src_port') THEN b.src_port END AS k_src_port,
        CASE WHEN list_contains(s.a, 'dst_port') THEN b.dst_port END AS k_dst_port,
        CASE WHEN list_contains(s.a, 'in_if') THEN coalesce(b.in_if, b.iface) END AS k_in_if,
        CASE WHEN list_contains(s.a, 'out_if') THEN b.out_if END AS k_out_if,
        CASE WHEN list_contains(s.a, 'app') THEN app_of(b.ip_proto, b.src_port, b.dst_port) END AS k_app,
        CASE WHEN list_contains(s.a, 'src_as') THEN as_of(b.src_ip, b.src_as) END AS k_src_as,
        CASE WHEN list_contains(s.a, 'dst_as') THEN as_of(b.dst_ip, b.dst_as) END AS k_dst_as,
        CASE WHEN list_contains(s.a, 'vlan') THEN b.vlan END AS k_vlan,
        b.bin,
        CASE WHEN is_home(b.dst_ip) THEN b.amount ELSE 0 END AS v_in,
        CASE WHEN is_home(b.src_ip) THEN b.amount ELSE 0 END AS v_out,
        b.amount AS v_total, b.bytes AS b, b.packets AS p, b.flows AS n
    FROM base b, sel s
),
per_bin AS (
    SELECT k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as,
           k_vlan, bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(v_total) AS s_total,
           sum(b) AS sb, sum(p) AS sp, sum(n) AS sn
    FROM keyed
    GROUP BY ALL
),
totals AS (
    SELECT k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as,
           k_vlan, sum(s_total) AS item_total
    FROM per_bin
    GROUP BY ALL
),
top_items AS (
    SELECT *, row_number() OVER (ORDER BY item_total DESC, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port,
                                 k_in_if, k_out_if, k_app, k_src_as, k_dst_as, k_vlan) AS item_rank
    FROM (SELECT * FROM totals
          ORDER BY item_total DESC, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if,
                   k_app, k_src_as, k_dst_as, k_vlan
          LIMIT $top)
),
labelled AS (
    SELECT coalesce(t.item_rank, $top + 1) AS rank,
           t.k_src_ip, t.k_dst_ip, t.k_proto, t.k_src_port, t.k_dst_port, t.k_in_if, t.k_out_if, t.k_app,
           t.k_src_as, t.k_dst_as, t.k_vlan, p.bin, p.s_in, p.s_out, p.s_total, p.sb, p.sp, p.sn
    FROM per_bin p LEFT JOIN top_items t
        ON p.k_src_ip IS NOT DISTINCT FROM t.k_src_ip AND p.k_dst_ip IS NOT DISTINCT FROM t.k_dst_ip
       AND p.k_proto IS NOT DISTINCT FROM t.k_proto AND p.k_src_port IS NOT DISTINCT FROM t.k_src_port
       AND p.k_dst_port IS NOT DISTINCT FROM t.k_dst_port AND p.k_in_if IS NOT DISTINCT FROM t.k_in_if
       AND p.k_out_if IS NOT DISTINCT FROM t.k_out_if AND p.k_app IS NOT DISTINCT FROM t.k_app
       AND p.k_src_as IS NOT DISTINCT FROM t.k_src_as AND p.k_dst_as IS NOT DISTINCT FROM t.k_dst_as
       AND p.k_vlan IS NOT DISTINCT FROM t.k_vlan
)
SELECT rank, rank > $top AS others,
       ip_text(k_src_ip) AS src_ip, ip_text(k_dst_ip) AS dst_ip, proto_name(k_proto) AS proto,
       CAST(k_src_port AS VARCHAR) AS src_port, CAST(k_dst_port AS VARCHAR) AS dst_port,
       if_name(k_in_if) AS in_if, if_name(k_out_if) AS out_if, k_app AS app,
       CAST(k_src_as AS VARCHAR) AS src_as, CAST(k_dst_as AS VARCHAR) AS dst_as, CAST(k_vlan AS VARCHAR) AS vlan,
       bin,
       sum(s_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "in",
       sum(s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "out",
       sum(s_total) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END)
           AS total,
       sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
FROM labelled
GROUP BY GROUPING SETS (
    (rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as,
     k_vlan, bin),
    (rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as,
     k_vlan)
)
ORDER BY rank, bin NULLS FIRST;
