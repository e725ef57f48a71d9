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
-- lookups only for the chosen attributes, once per distinct input (empty when the attribute is not chosen)
apps AS (
    SELECT k.ip_proto, k.src_port, k.dst_port, app_of(k.ip_proto, k.src_port, k.dst_port) AS app
    FROM (SELECT DISTINCT b.ip_proto, b.src_port, b.dst_port FROM base b, sel s WHERE list_contains(s.a, 'app')) k
),
src_ases AS (
    SELECT k.src_ip, k.src_as, as_of(k.src_ip, k.src_as) AS asn
    FROM (SELECT DISTINCT b.src_ip, b.src_as FROM base b, sel s WHERE list_contains(s.a, 'src_as')) k
),
dst_ases AS (
    SELECT k.dst_ip, k.dst_as, as_of(k.dst_ip, k.dst_as) AS asn
    FROM (SELECT DISTINCT b.dst_ip, b.dst_as FROM base b, sel s WHERE list_contains(s.a, 'dst_as')) k
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
        ap.app AS k_app, sa.asn AS k_src_as, da.asn AS k_dst_as,
        CASE WHEN list_contains(s.a, 'vlan') THEN b.vlan END AS k_vlan,
        b.bin,
        CASE WHEN is_home(b.dst_ip) THEN b.amount ELSE 0 END AS v_in,
        CASE WHEN is_home(b.src_ip) THEN b.amount ELSE 0 END AS v_out,
        b.amount AS v_total, b.bytes AS b, b.packets AS p, b.flows AS n
    FROM base b CROSS JOIN sel s
    LEFT JOIN apps ap ON ap.ip_proto IS NOT DISTINCT FROM b.ip_proto AND ap.src_port IS NOT DISTINCT FROM b.src_port
                     AND ap.dst_port IS NOT DISTINCT FROM b.dst_port
    LEFT JOIN src_ases sa ON sa.src_ip IS NOT DISTINCT FROM b.src_ip AND sa.src_as IS NOT DISTINCT FROM b.src_as
    LEFT JOIN dst_ases da ON da.dst_ip IS NOT DISTINCT FROM b.dst_ip AND da.dst_as IS NOT DISTINCT FROM b.dst_as
),
-- rank the items by their totals first; series only for the top $top, Others by subtraction
totals AS (
    SELECT k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as, k_vlan, sum(v_total) AS item_total
    FROM keyed GROUP BY ALL
),
top_items AS (
    SELECT *, row_number() OVER (ORDER BY item_total DESC, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as, k_vlan) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as, k_vlan LIMIT $top)
),
top_bins AS (  -- the top items per bin
    SELECT t.item_rank AS rank, k.k_src_ip, k.k_dst_ip, k.k_proto, k.k_src_port, k.k_dst_port, k.k_in_if, k.k_out_if, k.k_app, k.k_src_as, k.k_dst_as, k.k_vlan, k.bin,
           sum(k.v_in) AS s_in, sum(k.v_out) AS s_out, sum(k.v_total) AS s_total, sum(k.b) AS sb, sum(k.p) AS sp,
           sum(k.n) AS sn, count(*) AS rows_
    FROM keyed k JOIN top_items t
      ON k.k_src_ip IS NOT DISTINCT FROM t.k_src_ip
       AND k.k_dst_ip IS NOT DISTINCT FROM t.k_dst_ip
       AND k.k_proto IS NOT DISTINCT FROM t.k_proto
       AND k.k_src_port IS NOT DISTINCT FROM t.k_src_port
       AND k.k_dst_port IS NOT DISTINCT FROM t.k_dst_port
       AND k.k_in_if IS NOT DISTINCT FROM t.k_in_if
       AND k.k_out_if IS NOT DISTINCT FROM t.k_out_if
       AND k.k_app IS NOT DISTINCT FROM t.k_app
       AND k.k_src_as IS NOT DISTINCT FROM t.k_src_as
       AND k.k_dst_as IS NOT DISTINCT FROM t.k_dst_as
       AND k.k_vlan IS NOT DISTINCT FROM t.k_vlan
    GROUP BY ALL
),
all_bins AS (  -- everything per bin
    SELECT bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(v_total) AS s_total, sum(b) AS sb, sum(p) AS sp,
           sum(n) AS sn, count(*) AS rows_
    FROM keyed GROUP BY bin
),
others_bins AS (  -- Others = everything - the top items, in the bins where something else was seen
    SELECT $top + 1 AS rank, a.bin, a.s_in - coalesce(t.s_in, 0) AS s_in, a.s_out - coalesce(t.s_out, 0) AS s_out,
           a.s_total - coalesce(t.s_total, 0) AS s_total, a.sb - coalesce(t.sb, 0) AS sb,
           a.sp - coalesce(t.sp, 0) AS sp, a.sn - coalesce(t.sn, 0) AS sn
    FROM all_bins a
    LEFT JOIN (SELECT bin, sum(s_in) AS s_in, sum(s_out) AS s_out, sum(s_total) AS s_total, sum(sb) AS sb,
                      sum(sp) AS sp, sum(sn) AS sn, sum(rows_) AS rows_
               FROM top_bins GROUP BY bin) t ON t.bin = a.bin
    WHERE a.rows_ > coalesce(t.rows_, 0)
),
labelled AS (
    SELECT rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as, k_vlan, bin, s_in, s_out, s_total, sb, sp, sn FROM top_bins
    UNION ALL
    SELECT rank, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, bin, s_in, s_out, s_total, sb, sp, sn
    FROM others_bins
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
                                           ELSE $bin_secs END) AS total,
       sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
FROM labelled
GROUP BY GROUPING SETS ((rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as, k_vlan, bin), (rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_app, k_src_as, k_dst_as, k_vlan))
ORDER BY rank, bin NULLS FIRST;
