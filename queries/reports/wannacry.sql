-- name: wannacry
-- title: WannaCry
-- description: Traffic on the WannaCry.attack signature (destination protocol and port, from the case config's applications). Home = an address in a home network; internet = an address neither in home nor multicast, broadcast, link-local, loopback or unspecified. Sections: (1) home -> internet, source IP -> destination IP with destination protocol and port; (2) home -> internet, destination IP with the output interface (these two are GenieATM's); (3) internet -> home, source IP -> destination IP with protocol and port (inbound probes); (4) home -> home, source IP -> destination IP with protocol and port (internal spread). value is in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are totals, peers the distinct destinations of the item's source. Binned by packet time where the case holds the packets, by flow start for exported flows.
-- param: app VARCHAR = 'WannaCry.attack'
-- param: top INTEGER = 10
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- section: src_dst: src_ip, dst_ip, proto, dst_port
-- section: dst_out_if: dst_ip, out_if
-- section: in_src_dst: src_ip, dst_ip, proto, dst_port
-- section: home_src_dst: src_ip, dst_ip, proto, dst_port
-- measures: value, bytes, packets, flows
-- unit: bps
WITH matched AS (
    SELECT t.*, is_home(t.src_ip) AS sh, is_home(t.dst_ip) AS dh
    FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version) t
    WHERE EXISTS (SELECT 1 FROM _apps ap WHERE ap.app = $app AND ap.proto = t.ip_proto
                  AND t.dst_port BETWEEN ap.port_lo AND ap.port_hi)
),
base AS (  -- each piece of traffic in the section(s) of its direction
    SELECT 'src_dst' AS section, src_ip, dst_ip, ip_proto, dst_port, CAST(NULL AS UINTEGER) AS out_if, bin,
           unit_amount($unit, bytes, packets, flows) AS amount, bytes, packets, flows
    FROM matched WHERE sh AND is_internet(dst_ip)
    UNION ALL
    SELECT 'dst_out_if', NULL, dst_ip, NULL, NULL, out_if, bin, unit_amount($unit, bytes, packets, flows), bytes,
           packets, flows
    FROM matched WHERE sh AND is_internet(dst_ip)
    UNION ALL
    SELECT 'in_src_dst', src_ip, dst_ip, ip_proto, dst_port, NULL, bin, unit_amount($unit, bytes, packets, flows),
           bytes, packets, flows
    FROM matched WHERE is_internet(src_ip) AND dh
    UNION ALL
    SELECT 'home_src_dst', src_ip, dst_ip, ip_proto, dst_port, NULL, bin, unit_amount($unit, bytes, packets, flows),
           bytes, packets, flows
    FROM matched WHERE sh AND dh
),
totals AS (
    SELECT section, src_ip, dst_ip, ip_proto, dst_port, out_if, sum(amount) AS item_total
    FROM base GROUP BY ALL
),
top_items AS (  -- the $top largest of each section; ties broken by key
    SELECT *, row_number() OVER (PARTITION BY section
                                 ORDER BY item_total DESC, src_ip, dst_ip, ip_proto, dst_port, out_if) AS item_rank
    FROM totals
    QUALIFY item_rank <= $top
),
labelled AS (  -- everything else is folded into one 'Others' row per section (rank $top + 1)
    SELECT b.section, coalesce(t.item_rank, $top + 1) AS rank, t.src_ip AS k_src_ip, t.dst_ip AS k_dst_ip,
           t.ip_proto AS k_proto, t.dst_port AS k_dst_port, t.out_if AS k_out_if, b.bin, b.amount, b.bytes,
           b.packets, b.flows
    FROM base b LEFT JOIN top_items t
      ON b.section = t.section AND b.src_ip IS NOT DISTINCT FROM t.src_ip AND b.dst_ip IS NOT DISTINCT FROM t.dst_ip
     AND b.ip_proto IS NOT DISTINCT FROM t.ip_proto AND b.dst_port IS NOT DISTINCT FROM t.dst_port
     AND b.out_if IS NOT DISTINCT FROM t.out_if
)
SELECT section, rank, rank > $top AS others, ip_text(k_src_ip) AS src_ip, ip_text(k_dst_ip) AS dst_ip,
       proto_name(k_proto) AS proto, CAST(k_dst_port AS VARCHAR) AS dst_port, if_name(k_out_if) AS out_if, bin,
       sum(amount) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                          ELSE $bin_secs END) AS value,
       sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
FROM labelled
GROUP BY GROUPING SETS ((section, rank, k_src_ip, k_dst_ip, k_proto, k_dst_port, k_out_if, bin),
                        (section, rank, k_src_ip, k_dst_ip, k_proto, k_dst_port, k_out_if))
ORDER BY section, rank, bin NULLS FIRST;
