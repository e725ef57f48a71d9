-- name: top_ports
-- title: Top ports
-- description: The TCP, UDP and SCTP ports that carried the most traffic. in = traffic to the port (destination port), out = traffic from the port (source port), total = in + out.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: proto, port
-- measures: in, out, total
-- unit: bps
WITH base AS (
    SELECT f.ip_proto, f.src_port, f.dst_port, time_bin(f.first_ts, $bin_secs) AS bin,
           flow_amount($unit, coalesce(f.bytes_scaled, f.bytes), coalesce(f.packets_scaled, f.packets)) AS amount
    FROM flows f
    WHERE f.first_ts >= $from_ts AND f.first_ts < $to_ts AND ($ip_version = 0 OR f.ip_version = $ip_version)
      AND f.ip_proto IN (6, 17, 132, 136)
),
sides AS (
    SELECT ip_proto AS k_proto, dst_port AS k_port, bin, amount AS v_in, 0.0 AS v_out FROM base
    WHERE dst_port IS NOT NULL
    UNION ALL
    SELECT ip_proto AS k_proto, src_port AS k_port, bin, 0.0 AS v_in, amount AS v_out FROM base
    WHERE src_port IS NOT NULL
),
per_bin AS (
    SELECT k_proto, k_port, bin, sum(v_in) AS s_in, sum(v_out) AS s_out FROM sides GROUP BY ALL
),
totals AS (
    SELECT k_proto, k_port, sum(s_in + s_out) AS item_total FROM per_bin GROUP BY k_proto, k_port
),
top_items AS (  -- the $top largest; ties broken by key
    SELECT k_proto, k_port, row_number() OVER (ORDER BY item_total DESC, k_proto, k_port) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_proto, k_port LIMIT $top)
),
labelled AS (  -- everything else is folded into one 'Others' row (rank $top + 1)
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_proto, t.k_port, p.bin, p.s_in, p.s_out
    FROM per_bin p
    LEFT JOIN top_items t ON p.k_proto IS NOT DISTINCT FROM t.k_proto AND p.k_port IS NOT DISTINCT FROM t.k_port
)
SELECT rank, rank > $top AS others, proto_name(k_proto) AS proto, CAST(k_port AS VARCHAR) AS port, bin,
       sum(s_in) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS "in",
       sum(s_out) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS "out",
       sum(s_in + s_out) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END
           AS total
FROM labelled
GROUP BY GROUPING SETS ((rank, k_proto, k_port, bin), (rank, k_proto, k_port))
ORDER BY rank, bin NULLS FIRST;
