-- name: filter_compare
-- title: Filter compare
-- description: Traffic matched by each filter of the case config (its scope and conditions), side by side; with group set, only the filters of that filter group. in = into home (destination in a home network), out = out of home (source in a home network), total = all traffic the filter matches.
-- param: group VARCHAR = ''
-- param: top INTEGER = 20
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: filter
-- measures: in, out, total
-- needs: flow_filters
-- unit: bps
WITH chosen AS (
    SELECT DISTINCT name FROM _filters WHERE $group = '' OR grp = $group
),
base AS (
    SELECT ff.name AS k_filter, time_bin(f.first_ts, $bin_secs) AS bin,
           flow_amount($unit, coalesce(f.bytes_scaled, f.bytes), coalesce(f.packets_scaled, f.packets)) AS amount,
           is_home(f.src_ip) AS src_home, is_home(f.dst_ip) AS dst_home
    FROM flows f JOIN _flow_filters ff ON ff.flow_id = f.flow_id
    WHERE f.first_ts >= $from_ts AND f.first_ts < $to_ts AND ($ip_version = 0 OR f.ip_version = $ip_version)
      AND ff.name IN (SELECT name FROM chosen)
),
per_bin AS (
    SELECT k_filter, bin, sum(CASE WHEN dst_home THEN amount ELSE 0 END) AS s_in,
           sum(CASE WHEN src_home THEN amount ELSE 0 END) AS s_out, sum(amount) AS s_total
    FROM base GROUP BY ALL
),
totals AS (
    SELECT k_filter, sum(s_total) AS item_total FROM per_bin GROUP BY k_filter
),
top_items AS (  -- the $top largest; ties broken by key
    SELECT k_filter, row_number() OVER (ORDER BY item_total DESC, k_filter) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_filter LIMIT $top)
),
labelled AS (  -- everything else is folded into one 'Others' row (rank $top + 1)
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_filter, p.bin, p.s_in, p.s_out, p.s_total
    FROM per_bin p LEFT JOIN top_items t ON p.k_filter IS NOT DISTINCT FROM t.k_filter
)
SELECT rank, rank > $top AS others, k_filter AS filter, bin,
       sum(s_in) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS "in",
       sum(s_out) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS "out",
       sum(s_total) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END
           AS total
FROM labelled
GROUP BY GROUPING SETS ((rank, k_filter, bin), (rank, k_filter))
ORDER BY rank, bin NULLS FIRST;
