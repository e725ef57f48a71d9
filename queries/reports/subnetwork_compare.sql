-- name: subnetwork_compare
-- title: Subnetwork compare
-- description: Traffic of each configured subnetwork side by side (kind = subnetwork, group or farm for server farms). in = traffic to addresses in the subnetwork, out = traffic from them, total = in + out (a flow inside one subnetwork counts in both). Values are in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are the item's totals. Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: kind VARCHAR = 'subnetwork'
-- param: top INTEGER = 20
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: subnetwork
-- measures: in, out, total, bytes, packets, flows
-- unit: bps
WITH base AS (
    SELECT f.src_ip, f.dst_ip, f.bin,
           unit_amount($unit, f.bytes, f.packets, f.flows) AS amount,
           f.bytes AS b, f.packets AS p, f.flows AS n
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version) f
),
nets AS (
    SELECT name, lo, hi FROM _nets WHERE kind = $kind
),
sides AS (
    SELECT DISTINCT ON (b.rowid_, n.name) n.name AS k_net, b.bin, b.amount AS v_in, 0.0 AS v_out, b.b, b.p, b.n
    FROM (SELECT *, row_number() OVER () AS rowid_ FROM base) b JOIN nets n ON b.dst_ip BETWEEN n.lo AND n.hi
    UNION ALL
    SELECT DISTINCT ON (b.rowid_, n.name) n.name AS k_net, b.bin, 0.0 AS v_in, b.amount AS v_out, b.b, b.p, b.n
    FROM (SELECT *, row_number() OVER () AS rowid_ FROM base) b JOIN nets n ON b.src_ip BETWEEN n.lo AND n.hi
),
per_bin AS (
    SELECT k_net, bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(b) AS sb, sum(p) AS sp, sum(n) AS sn
    FROM sides GROUP BY ALL
),
totals AS (
    SELECT k_net, sum(s_in + s_out) AS item_total FROM per_bin GROUP BY k_net
),
top_items AS (  -- the $top largest; ties broken by key
    SELECT k_net, row_number() OVER (ORDER BY item_total DESC, k_net) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_net LIMIT $top)
),
labelled AS (  -- everything else is folded into one 'Others' row (rank $top + 1)
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_net, p.bin, p.s_in, p.s_out, p.sb, p.sp, p.sn
    FROM per_bin p LEFT JOIN top_items t ON p.k_net IS NOT DISTINCT FROM t.k_net
)
SELECT rank, rank > $top AS others, k_net AS subnetwork, bin,
       sum(s_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "in",
       sum(s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "out",
       sum(s_in + s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END)
           AS total,
       sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
FROM labelled
GROUP BY GROUPING SETS ((rank, k_net, bin), (rank, k_net))
ORDER BY rank, bin NULLS FIRST;
