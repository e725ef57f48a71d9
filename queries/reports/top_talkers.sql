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
-- rank the items by their totals first; series only for the top $top, Others by subtraction
totals AS (
    SELECT k_ip, sum(v_in + v_out) AS item_total FROM sides GROUP BY k_ip
),
top_items AS (  -- the $top largest; ties broken by address
    SELECT k_ip, row_number() OVER (ORDER BY item_total DESC, k_ip) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_ip LIMIT $top)
),
top_bins AS (
    SELECT t.item_rank AS rank, s.k_ip, s.bin, sum(s.v_in) AS s_in, sum(s.v_out) AS s_out, sum(s.bytes) AS sb,
           sum(s.packets) AS sp, sum(s.flows) AS sn, count(*) AS rows_, count(DISTINCT s.peer) AS peers
    FROM sides s JOIN top_items t ON s.k_ip = t.k_ip
    GROUP BY GROUPING SETS ((t.item_rank, s.k_ip, s.bin), (t.item_rank, s.k_ip))
),
all_bins AS (
    SELECT bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(bytes) AS sb, sum(packets) AS sp, sum(flows) AS sn,
           count(*) AS rows_
    FROM sides GROUP BY bin
),
others_bins AS (  -- Others = everything - the top items, in the bins where something else was seen
    SELECT a.bin, a.s_in - coalesce(t.s_in, 0) AS s_in, a.s_out - coalesce(t.s_out, 0) AS s_out,
           a.sb - coalesce(t.sb, 0) AS sb, a.sp - coalesce(t.sp, 0) AS sp, a.sn - coalesce(t.sn, 0) AS sn
    FROM all_bins a
    LEFT JOIN (SELECT bin, sum(s_in) AS s_in, sum(s_out) AS s_out, sum(sb) AS sb, sum(sp) AS sp, sum(sn) AS sn,
                      sum(rows_) AS rows_
               FROM top_bins WHERE bin IS NOT NULL GROUP BY bin) t ON t.bin = a.bin
    WHERE a.rows_ > coalesce(t.rows_, 0)
),
labelled AS (  -- top items per bin and over the window; Others per bin, then over the window
    SELECT rank, k_ip, bin, s_in, s_out, sb, sp, sn, CASE WHEN bin IS NULL THEN peers END AS peers FROM top_bins
    UNION ALL
    SELECT $top + 1, NULL, bin, s_in, s_out, sb, sp, sn, NULL FROM others_bins
    UNION ALL
    SELECT $top + 1, NULL, NULL, sum(s_in), sum(s_out), sum(sb), sum(sp), sum(sn), NULL FROM others_bins
    HAVING count(*) > 0
)
SELECT rank, rank > $top AS others, ip_text(k_ip) AS ip, bin,
       s_in / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END)
           AS "in",
       s_out / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END)
           AS "out",
       (s_in + s_out) / unit_per($unit, CASE WHEN bin IS NULL THEN date_diff('second', $from_ts, $to_ts)
                                            ELSE $bin_secs END) AS total,
       sb AS bytes, sp AS packets, sn AS flows, peers
FROM labelled
ORDER BY rank, bin NULLS FIRST;
