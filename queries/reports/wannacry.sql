-- name: wannacry
-- title: WannaCry
-- description: Traffic from home to the internet on the WannaCry.attack signature (destination protocol and port), as (1) source IP -> destination IP with destination protocol and port, and (2) destination IP with the output interface. value = traffic out of home, averaged over the bin.
-- param: app VARCHAR = 'WannaCry.attack'
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- section: src_dst: src_ip, dst_ip, proto, dst_port
-- section: dst_out_if: dst_ip, out_if
-- measures: value
-- unit: bps
WITH base AS (
    SELECT f.src_ip, f.dst_ip, f.ip_proto, f.dst_port, f.out_if, time_bin(f.first_ts, $bin_secs) AS bin,
           flow_amount($unit, coalesce(f.bytes_scaled, f.bytes), coalesce(f.packets_scaled, f.packets)) AS amount
    FROM flows f
    WHERE f.first_ts >= $from_ts AND f.first_ts < $to_ts AND ($ip_version = 0 OR f.ip_version = $ip_version)
      AND is_home(f.src_ip) AND NOT is_home(f.dst_ip)
      AND EXISTS (SELECT 1 FROM _apps ap WHERE ap.app = $app AND ap.proto = f.ip_proto
                  AND f.dst_port BETWEEN ap.port_lo AND ap.port_hi)
),
per_bin AS (
    SELECT CASE WHEN grouping(out_if) = 1 THEN 'src_dst' ELSE 'dst_out_if' END AS section,
           src_ip AS k_src_ip, dst_ip AS k_dst_ip, ip_proto AS k_proto, dst_port AS k_dst_port, out_if AS k_out_if,
           bin, sum(amount) AS s
    FROM base
    GROUP BY GROUPING SETS ((src_ip, dst_ip, ip_proto, dst_port, bin), (dst_ip, out_if, bin))
),
ranked AS (
    SELECT *, dense_rank() OVER (PARTITION BY section
                                 ORDER BY item_total DESC, k_src_ip, k_dst_ip, k_proto, k_dst_port, k_out_if)
              AS item_rank
    FROM (SELECT *, sum(s) OVER (PARTITION BY section, k_src_ip, k_dst_ip, k_proto, k_dst_port, k_out_if)
                    AS item_total
          FROM per_bin)
),
labelled AS (
    SELECT section, least(item_rank, $top + 1) AS rank,
           CASE WHEN item_rank <= $top THEN k_src_ip END AS k_src_ip,
           CASE WHEN item_rank <= $top THEN k_dst_ip END AS k_dst_ip,
           CASE WHEN item_rank <= $top THEN k_proto END AS k_proto,
           CASE WHEN item_rank <= $top THEN k_dst_port END AS k_dst_port,
           CASE WHEN item_rank <= $top THEN k_out_if END AS k_out_if,
           bin, s
    FROM ranked
)
SELECT section, rank, rank > $top AS others, ip_text(k_src_ip) AS src_ip, ip_text(k_dst_ip) AS dst_ip,
       proto_name(k_proto) AS proto, CAST(k_dst_port AS VARCHAR) AS dst_port, if_name(k_out_if) AS out_if, bin,
       sum(s) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS value
FROM labelled
GROUP BY GROUPING SETS ((section, rank, k_src_ip, k_dst_ip, k_proto, k_dst_port, k_out_if, bin),
                        (section, rank, k_src_ip, k_dst_ip, k_proto, k_dst_port, k_out_if))
ORDER BY section, rank, bin NULLS FIRST;
