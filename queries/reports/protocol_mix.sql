-- name: protocol_mix
-- title: Protocol mix
-- description: Traffic per IP protocol. in = into home (destination in a home network), out = out of home (source in a home network), total = all traffic of the protocol.
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: proto
-- measures: in, out, total
-- unit: bps
WITH base AS (
    SELECT f.ip_proto AS k_proto, time_bin(f.first_ts, $bin_secs) AS bin,
           flow_amount($unit, coalesce(f.bytes_scaled, f.bytes), coalesce(f.packets_scaled, f.packets)) AS amount,
           is_home(f.src_ip) AS src_home, is_home(f.dst_ip) AS dst_home
    FROM flows f
    WHERE f.first_ts >= $from_ts AND f.first_ts < $to_ts AND ($ip_version = 0 OR f.ip_version = $ip_version)
),
per_bin AS (
    SELECT k_proto, bin, sum(CASE WHEN dst_home THEN amount ELSE 0 END) AS s_in,
           sum(CASE WHEN src_home THEN amount ELSE 0 END) AS s_out, sum(amount) AS s_total
    FROM base GROUP BY ALL
),
totals AS (
    SELECT k_proto, sum(s_total) AS item_total FROM per_bin GROUP BY k_proto
),
top_items AS (  -- the $top largest; ties broken by key
    SELECT k_proto, row_number() OVER (ORDER BY item_total DESC, k_proto) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_proto LIMIT $top)
),
labelled AS (  -- everything else is folded into one 'Others' row (rank $top + 1)
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_proto, p.bin, p.s_in, p.s_out, p.s_total
    FROM per_bin p LEFT JOIN top_items t ON p.k_proto IS NOT DISTINCT FROM t.k_proto
)
SELECT rank, rank > $top AS others, proto_name(k_proto) AS proto, bin,
       sum(s_in) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS "in",
       sum(s_out) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS "out",
       sum(s_total) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END
           AS total
FROM labelled
GROUP BY GROUPING SETS ((rank, k_proto, bin), (rank, k_proto))
ORDER BY rank, bin NULLS FIRST;
