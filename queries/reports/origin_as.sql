-- name: origin_as
-- title: Origin AS
-- description: Traffic per autonomous system, from the flow record's AS when it has one, else from the AS mapping of the case config (most specific prefix). in = traffic that came from the AS (source), out = traffic sent to the AS (destination), total = in + out. Addresses with no AS are the item "-". Values are in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are the item's totals. Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: asn, as_name
-- measures: in, out, total, bytes, packets, flows
-- unit: bps
WITH pairs AS (  -- summed per (source AS, destination AS, bin) first: few rows, each read twice below (issue 11:
                -- a CTE read twice is materialised, and per flow that held every row of the window)
    SELECT as_of(f.src_ip, f.src_as) AS src_asn, as_of(f.dst_ip, f.dst_as) AS dst_asn, f.bin,
           sum(unit_amount($unit, f.bytes, f.packets, f.flows)) AS amount,
           sum(f.bytes) AS b, sum(f.packets) AS p, sum(f.flows) AS n
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version) f
    GROUP BY ALL
),
sides AS (
    SELECT src_asn AS k_asn, bin, amount AS v_in, 0.0 AS v_out, b, p, n FROM pairs
    UNION ALL
    SELECT dst_asn AS k_asn, bin, 0.0 AS v_in, amount AS v_out, b, p, n FROM pairs
),
per_bin AS (
    SELECT k_asn, bin, sum(v_in) AS s_in, sum(v_out) AS s_out, sum(b) AS sb, sum(p) AS sp, sum(n) AS sn
    FROM sides GROUP BY ALL
),
totals AS (
    SELECT k_asn, sum(s_in + s_out) AS item_total FROM per_bin GROUP BY k_asn
),
top_items AS (  -- the $top largest; ties broken by key
    SELECT k_asn, row_number() OVER (ORDER BY item_total DESC, k_asn) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_asn LIMIT $top)
),
labelled AS (  -- everything else is folded into one 'Others' row (rank $top + 1)
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_asn, nm.as_name, p.bin, p.s_in, p.s_out, p.sb, p.sp, p.sn
    FROM per_bin p LEFT JOIN top_items t ON p.k_asn IS NOT DISTINCT FROM t.k_asn
    LEFT JOIN (SELECT asn, min(as_name) AS as_name FROM _as_prefixes GROUP BY asn) nm ON nm.asn = t.k_asn
)
SELECT rank, rank > $top AS others, CAST(k_asn AS VARCHAR) AS asn,
       as_name, bin,
       sum(s_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "in",
       sum(s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "out",
       sum(s_in + s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END)
           AS total,
       sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
FROM labelled
GROUP BY GROUPING SETS ((rank, k_asn, as_name, bin), (rank, k_asn, as_name))
ORDER BY rank, bin NULLS FIRST;
