-- name: top_talkers
-- title: Top talkers
-- description: The addresses that sent and received the most traffic. in = traffic the address received (as destination), out = traffic it sent (as source), total = in + out.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: ip
-- measures: in, out, total
-- unit: bps
WITH base AS (
    SELECT f.src_ip, f.dst_ip, time_bin(f.first_ts, $bin_secs) AS bin,
           flow_amount($unit, coalesce(f.bytes_scaled, f.bytes), coalesce(f.packets_scaled, f.packets)) AS amount
    FROM flows f
    WHERE f.first_ts >= $from_ts AND f.first_ts < $to_ts AND ($ip_version = 0 OR f.ip_version = $ip_version)
),
sides AS (
    SELECT dst_ip AS k_ip, bin, amount AS v_in, 0.0 AS v_out FROM base
    UNION ALL
    SELECT src_ip AS k_ip, bin, 0.0 AS v_in, amount AS v_out FROM base
),
per_bin AS (
    SELECT k_ip, bin, sum(v_in) AS s_in, sum(v_out) AS s_out FROM sides GROUP BY ALL
),
totals AS (
    SELECT k_ip, sum(s_in + s_out) AS item_total FROM per_bin GROUP BY k_ip
),
top_items AS (  -- the $top largest; ties broken by address
    SELECT k_ip, row_number() OVER (ORDER BY item_total DESC, k_ip) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_ip LIMIT $top)
),
labelled AS (  -- every other address is folded into one 'Others' row (rank $top + 1)
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_ip, p.bin, p.s_in, p.s_out
    FROM per_bin p LEFT JOIN top_items t ON p.k_ip IS NOT DISTINCT FROM t.k_ip
)
SELECT rank, rank > $top AS others, ip_text(k_ip) AS ip, bin,
       sum(s_in) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS "in",
       sum(s_out) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS "out",
       sum(s_in + s_out) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END
           AS total
FROM labelled
GROUP BY GROUPING SETS ((rank, k_ip, bin), (rank, k_ip))
ORDER BY rank, bin NULLS FIRST;
