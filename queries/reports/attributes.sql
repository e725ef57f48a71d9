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
WITH
-- `base` and `keyed` are read again by each step, not materialised: a scan costs less than holding every
-- row of the window (issue 11)
base AS NOT MATERIALIZED (
    SELECT f.*, unit_amount($unit, f.bytes, f.packets, f.flows) AS amount
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version) f
),
-- lookups only for the chosen attributes, once per distinct input (empty when the attribute is not chosen)
-- app: the first configured signature matching the protocol and a port, else the payload-evidence label of
-- the flows of that 5-tuple (flow_app, pcap-derived flows; README "Application labels")
labels AS (
    SELECT f.ip_proto, f.src_ip, f.dst_ip, f.src_port, f.dst_port, min(l.app) AS label
    FROM flow_app l JOIN flows f ON f.flow_id = l.flow_id
    WHERE chosen($attributes, 'app')
    GROUP BY f.ip_proto, f.src_ip, f.dst_ip, f.src_port, f.dst_port
),
apps AS (
    SELECT k.ip_proto, k.src_ip, k.dst_ip, k.src_port, k.dst_port,
           coalesce(app_of(k.ip_proto, k.src_port, k.dst_port), lb.label) AS app
    FROM (SELECT DISTINCT b.ip_proto, b.src_ip, b.dst_ip, b.src_port, b.dst_port FROM base b WHERE chosen($attributes, 'app')) k
    LEFT JOIN labels lb ON lb.ip_proto = k.ip_proto AND lb.src_ip = k.src_ip AND lb.dst_ip = k.dst_ip
                       AND lb.src_port = k.src_port AND lb.dst_port = k.dst_port
),
src_ases AS (
    SELECT k.src_ip, k.src_as, as_of(k.src_ip, k.src_as) AS asn
    FROM (SELECT DISTINCT b.src_ip, b.src_as FROM base b WHERE chosen($attributes, 'src_as')) k
),
dst_ases AS (
    SELECT k.dst_ip, k.dst_as, as_of(k.dst_ip, k.dst_as) AS asn
    FROM (SELECT DISTINCT b.dst_ip, b.dst_as FROM base b WHERE chosen($attributes, 'dst_as')) k
),
-- The item key: one column per attribute, NULL when the attribute is not chosen. chosen() is tested inline on
-- the bound parameter, so DuckDB folds it: an unchosen attribute is a constant NULL (free in the GROUP BY) and a
-- chosen one the column itself, whose statistics let DuckDB group IPv4 addresses as 32-bit numbers (issue 11:
-- 1.2 s of CPU less at 10 M flows than a one-row CTE of choices cross-joined in; packing the small attributes
-- into one UHUGEINT, which paid when the choices were not constants, now costs 0.7 s more than plain columns).
keyed AS NOT MATERIALIZED (
    SELECT
        CASE WHEN chosen($attributes, 'src_ip') THEN b.src_ip END AS k_src_ip,
        CASE WHEN chosen($attributes, 'dst_ip') THEN b.dst_ip END AS k_dst_ip,
        CASE WHEN chosen($attributes, 'proto') THEN b.ip_proto END AS k_proto,
        CASE WHEN chosen($attributes, 'src_port') THEN b.src_port END AS k_src_port,
        CASE WHEN chosen($attributes, 'dst_port') THEN b.dst_port END AS k_dst_port,
        CASE WHEN chosen($attributes, 'in_if') THEN coalesce(b.in_if, b.iface) END AS k_in_if,
        CASE WHEN chosen($attributes, 'out_if') THEN b.out_if END AS k_out_if,
        CASE WHEN chosen($attributes, 'vlan') THEN b.vlan END AS k_vlan,
        CASE WHEN chosen($attributes, 'app') THEN ap.app END AS k_app,
        CASE WHEN chosen($attributes, 'src_as') THEN sa.asn END AS k_src_as,
        CASE WHEN chosen($attributes, 'dst_as') THEN da.asn END AS k_dst_as,
        b.bin,
        CASE WHEN b.dst_home THEN b.amount ELSE 0 END AS v_in,
        CASE WHEN b.src_home THEN b.amount ELSE 0 END AS v_out,
        b.amount AS v_total, b.bytes AS b, b.packets AS p, b.flows AS n
    FROM base b
    LEFT JOIN apps ap ON ap.ip_proto IS NOT DISTINCT FROM b.ip_proto AND ap.src_port IS NOT DISTINCT FROM b.src_port
                     AND ap.dst_port IS NOT DISTINCT FROM b.dst_port AND ap.src_ip IS NOT DISTINCT FROM b.src_ip
                     AND ap.dst_ip IS NOT DISTINCT FROM b.dst_ip
    LEFT JOIN src_ases sa ON sa.src_ip IS NOT DISTINCT FROM b.src_ip AND sa.src_as IS NOT DISTINCT FROM b.src_as
    LEFT JOIN dst_ases da ON da.dst_ip IS NOT DISTINCT FROM b.dst_ip AND da.dst_as IS NOT DISTINCT FROM b.dst_as
),
-- rank the items by their totals first; series only for the top $top, Others by subtraction
totals AS (
    SELECT k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_vlan, k_app, k_src_as, k_dst_as, sum(v_total) AS item_total
    FROM keyed GROUP BY ALL
),
top_items AS (
    SELECT *, row_number() OVER (ORDER BY item_total DESC, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_vlan, k_app, k_src_as, k_dst_as) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_vlan, k_app, k_src_as, k_dst_as LIMIT $top)
),
top_bins AS (  -- the top items per bin
    SELECT t.item_rank AS rank, k.k_src_ip, k.k_dst_ip, k.k_proto, k.k_src_port, k.k_dst_port, k.k_in_if, k.k_out_if, k.k_vlan, k.k_app, k.k_src_as, k.k_dst_as,
           k.bin,
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
       AND k.k_vlan IS NOT DISTINCT FROM t.k_vlan
       AND k.k_app IS NOT DISTINCT FROM t.k_app
       AND k.k_src_as IS NOT DISTINCT FROM t.k_src_as
       AND k.k_dst_as IS NOT DISTINCT FROM t.k_dst_as
    GROUP BY ALL
),
all_bins AS (  -- everything per bin
    SELECT bin, sum(CASE WHEN dst_home THEN amount ELSE 0 END) AS s_in,
           sum(CASE WHEN src_home THEN amount ELSE 0 END) AS s_out, sum(amount) AS s_total, sum(bytes) AS sb,
           sum(packets) AS sp, sum(flows) AS sn, count(*) AS rows_
    FROM base GROUP BY bin
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
    SELECT rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_vlan, k_app, k_src_as, k_dst_as, bin, s_in, s_out, s_total, sb, sp, sn
    FROM top_bins
    UNION ALL
    SELECT rank, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, bin, s_in, s_out, s_total, sb, sp, sn
    FROM others_bins
),
summed AS (
    SELECT rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_vlan, k_app, k_src_as, k_dst_as, bin,
           sum(s_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                           ELSE $bin_secs END) AS "in",
           sum(s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                             ELSE $bin_secs END) AS "out",
           sum(s_total) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                               ELSE $bin_secs END) AS total,
           sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
    FROM labelled
    GROUP BY GROUPING SETS ((rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_vlan, k_app, k_src_as, k_dst_as, bin),
                            (rank, k_src_ip, k_dst_ip, k_proto, k_src_port, k_dst_port, k_in_if, k_out_if, k_vlan, k_app, k_src_as, k_dst_as))
)
SELECT rank, rank > $top AS others,
       ip_text(k_src_ip) AS src_ip, ip_text(k_dst_ip) AS dst_ip,
       proto_name(k_proto) AS proto, CAST(k_src_port AS VARCHAR) AS src_port,
       CAST(k_dst_port AS VARCHAR) AS dst_port, if_name(k_in_if) AS in_if, if_name(k_out_if) AS out_if, k_app AS app,
       CAST(k_src_as AS VARCHAR) AS src_as, CAST(k_dst_as AS VARCHAR) AS dst_as, CAST(k_vlan AS VARCHAR) AS vlan,
       bin, "in", "out", total, bytes, packets, flows
FROM summed
ORDER BY rank, bin NULLS FIRST;
