-- name: filter_compare
-- title: Filter compare
-- description: Traffic matched by each filter of the case config (its scope and conditions), side by side; with group set, only the filters of that filter group. in = into home (destination in a home network), out = out of home (source in a home network), total = all traffic the filter matches. Values are in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are the filter's totals. Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: group VARCHAR = ''
-- param: top INTEGER = 20
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: filter
-- measures: in, out, total, bytes, packets, flows
-- needs: flow_filters
-- unit: bps
WITH chosen AS (
    SELECT DISTINCT name FROM _filters WHERE $group = '' OR grp = $group
),
matched AS (  -- the packets of each filter binned by packet time (_packet_bins), and its flow records
    SELECT pb.filter AS k_filter, pb.bin, pb.src_ip, pb.dst_ip, pb.bytes, pb.packets, 0 AS flows
    FROM _packet_bins pb
    WHERE pb.filter IN (SELECT name FROM chosen) AND pb.bin >= $from_ts AND pb.bin < $to_ts
      AND ($ip_version = 0 OR pb.ip_version = $ip_version)
    UNION ALL
    SELECT ff.name, time_bin(f.first_ts, $bin_secs), f.src_ip, f.dst_ip,
           CASE WHEN packet_held(f.source) THEN 0 ELSE coalesce(f.bytes_scaled, f.bytes) END,
           CASE WHEN packet_held(f.source) THEN 0 ELSE coalesce(f.packets_scaled, f.packets) END, 1
    FROM flows f JOIN _flow_filters ff ON ff.flow_id = f.flow_id
    WHERE f.first_ts >= $from_ts AND f.first_ts < $to_ts AND ($ip_version = 0 OR f.ip_version = $ip_version)
      AND basis_counts(f.source)
      AND ff.name IN (SELECT name FROM chosen)
),
base AS (
    SELECT k_filter, bin, unit_amount($unit, bytes, packets, flows) AS amount, bytes AS b, packets AS p,
           flows AS n, is_home(src_ip) AS src_home, is_home(dst_ip) AS dst_home
    FROM matched
),
per_bin AS (
    SELECT k_filter, bin, sum(CASE WHEN dst_home THEN amount ELSE 0 END) AS s_in,
           sum(CASE WHEN src_home THEN amount ELSE 0 END) AS s_out, sum(amount) AS s_total,
           sum(b) AS sb, sum(p) AS sp, sum(n) AS sn
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
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_filter, p.bin, p.s_in, p.s_out, p.s_total, p.sb, p.sp, p.sn
    FROM per_bin p LEFT JOIN top_items t ON p.k_filter IS NOT DISTINCT FROM t.k_filter
)
SELECT rank, rank > $top AS others, k_filter AS filter, bin,
       sum(s_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "in",
       sum(s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "out",
       sum(s_total) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END)
           AS total,
       sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
FROM labelled
GROUP BY GROUPING SETS ((rank, k_filter, bin), (rank, k_filter))
ORDER BY rank, bin NULLS FIRST;
