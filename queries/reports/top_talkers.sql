-- name: top_talkers
-- title: Top talkers
-- description: The addresses that sent and received the most traffic. in = traffic the address received (as destination), out = traffic it sent (as source), total = in + out, in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums). bytes (IP layer), packets and flows are the item's totals, peers the distinct addresses it exchanged traffic with (for the top items over the period; not per bin, not for Others). Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: ip
-- measures: in, out, total, bytes, packets, flows, peers
-- unit: bps
WITH base AS (
    SELECT * FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version)
),
sides AS (  -- each piece of traffic counts for its destination (in) and its source (out)
    SELECT dst_ip AS k_ip, src_ip AS peer, bin, unit_amount($unit, bytes, packets, flows) AS v_in, 0.0 AS v_out,
           bytes, packets, flows
    FROM base
    UNION ALL
    SELECT src_ip, dst_ip, bin, 0.0, unit_amount($unit, bytes, packets, flows), bytes, packets, flows FROM base
),
per_bin AS (
    SELECT k_ip, bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(bytes) AS sb, sum(packets) AS sp,
           sum(flows) AS sn
    FROM sides GROUP BY k_ip, bin
),
totals AS (
    SELECT k_ip, sum(s_in + s_out) AS item_total FROM per_bin GROUP BY k_ip
),
top_items AS (  -- the $top largest; ties broken by address
    SELECT k_ip, row_number() OVER (ORDER BY item_total DESC, k_ip) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_ip LIMIT $top)
),
peers AS (  -- distinct peers of the top items only
    SELECT s.k_ip, count(DISTINCT s.peer) AS peers
    FROM sides s SEMI JOIN top_items t ON s.k_ip = t.k_ip
    GROUP BY s.k_ip
),
labelled AS (  -- every other address is folded into one 'Others' row (rank $top + 1)
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_ip, p.bin, p.s_in, p.s_out, p.sb, p.sp, p.sn
    FROM per_bin p LEFT JOIN top_items t ON p.k_ip IS NOT DISTINCT FROM t.k_ip
),
grouped AS (
    SELECT rank, k_ip, bin,
           sum(s_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                           ELSE $bin_secs END) AS "in",
           sum(s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                             ELSE $bin_secs END) AS "out",
           sum(s_in + s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                                   ELSE $bin_secs END) AS total,
           sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
    FROM labelled
    GROUP BY GROUPING SETS ((rank, k_ip, bin), (rank, k_ip))
)
SELECT g.rank, g.rank > $top AS others, ip_text(g.k_ip) AS ip, g.bin, g."in", g."out", g.total, g.bytes, g.packets,
       g.flows, CASE WHEN g.bin IS NULL THEN p.peers END AS peers
FROM grouped g LEFT JOIN peers p ON g.rank <= $top AND p.k_ip = g.k_ip
ORDER BY g.rank, g.bin NULLS FIRST;
