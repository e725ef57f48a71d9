-- name: protocol_mix
-- title: Protocol mix
-- description: Traffic per IP protocol. in = into home (destination in a home network), out = out of home (source in a home network), total = all traffic of the protocol. Values are in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are the item's totals. Binned by packet time where the case holds the packets, by flow start for exported flows; bins whose flows were removed by retention come from the 5-minute summary kept for them; many exported flows are read from the 5-minute rollup written at import (the same sums).
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: proto
-- measures: in, out, total, bytes, packets, flows
-- unit: bps
-- needs: summary, rollup
WITH per_bin AS (  -- summed per protocol, bin and which ends are home first (a few rows per bin), then valued
    SELECT k_proto, bin, sum(CASE WHEN dst_home THEN amount ELSE 0 END) AS s_in,
           sum(CASE WHEN src_home THEN amount ELSE 0 END) AS s_out, sum(amount) AS s_total,
           sum(b) AS sb, sum(p) AS sp, sum(n) AS sn
    FROM (SELECT k_proto, bin, src_home, dst_home, unit_amount($unit, b, p, n) AS amount, b, p, n
          FROM (SELECT f.ip_proto AS k_proto, f.bin, f.src_home, f.dst_home,
                       sum(f.bytes) AS b, sum(f.packets) AS p, sum(f.flows) AS n
                FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version) f
                GROUP BY ALL
                UNION ALL  -- exported flows read from their 5-minute rollup written at import (left out of traffic())
                SELECT r.ip_proto, r.bin, r.src_home, r.dst_home, sum(r.bytes), sum(r.packets), sum(r.flows)
                FROM rollup_traffic($from_ts, $to_ts, $bin_secs, $ip_version) r
                GROUP BY ALL
                UNION ALL  -- bins whose flows retention removed: the 5-minute summary kept for them (coverage `summary`)
                SELECT s.ip_proto, s.bin, s.src_zone = 'home', s.dst_zone = 'home',
                       sum(s.bytes), sum(s.packets), sum(s.flows)
                FROM summary_traffic($from_ts, $to_ts, $bin_secs, $ip_version) s
                GROUP BY ALL))
    GROUP BY k_proto, bin
),
totals AS (
    SELECT k_proto, sum(s_total) AS item_total FROM per_bin GROUP BY k_proto
),
top_items AS (  -- the $top largest; ties broken by key
    SELECT k_proto, row_number() OVER (ORDER BY item_total DESC, k_proto) AS item_rank
    FROM (SELECT * FROM totals ORDER BY item_total DESC, k_proto LIMIT $top)
),
labelled AS (  -- everything else is folded into one 'Others' row (rank $top + 1)
    SELECT coalesce(t.item_rank, $top + 1) AS rank, t.k_proto, p.bin, p.s_in, p.s_out, p.s_total,
           p.sb, p.sp, p.sn
    FROM per_bin p LEFT JOIN top_items t ON p.k_proto IS NOT DISTINCT FROM t.k_proto
)
SELECT rank, rank > $top AS others, proto_name(k_proto) AS proto, bin,
       sum(s_in) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "in",
       sum(s_out) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END) AS "out",
       sum(s_total) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                 ELSE $bin_secs END)
           AS total,
       sum(sb) AS bytes, sum(sp) AS packets, sum(sn) AS flows
FROM labelled
GROUP BY GROUPING SETS ((rank, k_proto, bin), (rank, k_proto))
ORDER BY rank, bin NULLS FIRST;
