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
-- Each piece of traffic counts for its destination (in) and its source (out): each step reads `base` once and
-- pairs every piece with the two sides (a CROSS JOIN with two rows) instead of reading it once per side. The
-- items are ranked by their totals first; series, peers and the other measures only for the top $top; Others by
-- subtraction. `base` is read again by each step, not materialised: a scan costs less than holding every row
-- (issue 11; the one-read pairing: 2.85 -> 2.0 s of CPU on 10 M flows in a lake, bench/README.md).
WITH base AS NOT MATERIALIZED (
    SELECT src_ip, dst_ip, bin, unit_amount($unit, bytes, packets, flows) AS amount, bytes, packets, flows
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version)
),
totals AS (
    SELECT CASE WHEN d.is_in THEN b.dst_ip ELSE b.src_ip END AS k_ip, sum(b.amount) AS item_total
    FROM base b CROSS JOIN (VALUES (true), (false)) d(is_in)
    GROUP BY k_ip
),
top_items AS (  -- the $top largest; ties broken by address
    SELECT k_ip, row_number() OVER (ORDER BY item_total DESC, k_ip) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_ip LIMIT $top)
),
top_sides AS (  -- the top items' traffic: as destination (in), as source (out); one read of base, each piece twice
    SELECT t.item_rank, t.k_ip, CASE WHEN d.is_in THEN b.src_ip ELSE b.dst_ip END AS peer, b.bin,
           CASE WHEN d.is_in THEN b.amount ELSE 0.0 END AS v_in,
           CASE WHEN d.is_in THEN 0.0 ELSE b.amount END AS v_out, b.bytes, b.packets, b.flows
    FROM base b CROSS JOIN (VALUES (true), (false)) d(is_in)
    JOIN top_items t ON t.k_ip = CASE WHEN d.is_in THEN b.dst_ip ELSE b.src_ip END
),
top_bins AS (
    SELECT item_rank AS rank, k_ip, bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(bytes) AS sb,
           sum(packets) AS sp, sum(flows) AS sn, count(*) AS rows_, count(DISTINCT peer) AS peers
    FROM top_sides
    GROUP BY GROUPING SETS ((item_rank, k_ip, bin), (item_rank, k_ip))
),
all_bins AS (  -- every piece counted on both sides, as the items are
    SELECT bin, sum(amount) AS s, 2 * sum(bytes) AS sb, 2 * sum(packets) AS sp, 2 * sum(flows) AS sn,
           2 * count(*) AS rows_
    FROM base GROUP BY bin
),
others_bins AS (  -- Others = everything - the top items, in the bins where something else was seen
    SELECT a.bin, a.s - coalesce(t.s_in, 0) AS s_in, a.s - coalesce(t.s_out, 0) AS s_out,
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
