-- name: host_sweep
-- title: Host sweep
-- description: One source probing one service across many addresses (the WannaCry TCP/445 sweep of a /24): distinct destination addresses per (source, protocol, destination port) per minute (bins aligned to the clock), over TCP SYNs without ACK, UDP packets sent from a higher port to a lower one, and ICMP/ICMPv6 echo requests. Default more than 100 addresses a minute: a browser reaches a few dozen web servers in a busy minute and a resolver's upstream queries spread over few servers; a sweep touches every address of a block.
-- severity: high
-- category: attack
-- param: threshold DOUBLE = 100
-- param: bin_secs BIGINT = 60
-- needs: check_rows
-- unit: count
WITH probes AS (
    SELECT sec AS ts, src_ip, dst_ip, ip_proto,
           CASE WHEN ip_proto IN (6, 17) THEN dst_port END AS dst_port
    FROM _check_rows  -- the run's rows summed per second (queries/checks/_check_rows.sql)
    WHERE in_range
      AND ((ip_proto = 6 AND tcp_flags & 18 = 2) OR (ip_proto = 17 AND dst_port < src_port)
           OR (ip_proto = 1 AND icmp_type = 8) OR (ip_proto = 58 AND icmp_type = 128))
),
per_service AS (
    SELECT src_ip, ip_proto, dst_port, time_bin(ts, $bin_secs) AS bin, count(DISTINCT dst_ip) AS targets,
           min(dst_ip) AS lo_ip, max(dst_ip) AS hi_ip
    FROM probes GROUP BY ALL
)
SELECT ip_text(src_ip) AS entity, bin AS window_start, bin + to_seconds($bin_secs) AS window_end,
       CAST(targets AS DOUBLE) AS value, $threshold AS threshold, 'count' AS unit,
       printf('%s probed %d addresses (%s .. %s) on %s in %d s; limit %s', ip_text(src_ip), targets,
              ip_text(lo_ip), ip_text(hi_ip),
              CASE WHEN dst_port IS NULL THEN proto_name(ip_proto) || ' echo'
                   ELSE proto_name(ip_proto) || '/' || CAST(dst_port AS VARCHAR) END,
              $bin_secs, CAST($threshold AS VARCHAR)) AS detail,
       'src host ' || ip_text(src_ip) || ' and ' ||
       CASE WHEN ip_proto = 6 THEN 'tcp dst port ' || CAST(dst_port AS VARCHAR) || ' and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'
            WHEN ip_proto = 17 THEN 'udp dst port ' || CAST(dst_port AS VARCHAR)
            WHEN ip_proto = 1 THEN 'icmp[icmptype] == icmp-echo'
            ELSE 'icmp6[icmp6type] == icmp6-echo' END AS evidence,
       (SELECT list({'t': q.bin, 'v': CAST(q.targets AS DOUBLE)} ORDER BY q.bin) FROM per_service q
        WHERE q.src_ip = p.src_ip AND q.ip_proto = p.ip_proto AND q.dst_port IS NOT DISTINCT FROM p.dst_port
          AND q.bin >= p.bin - to_seconds(5 * $bin_secs) AND q.bin <= p.bin + to_seconds(5 * $bin_secs)) AS series
FROM per_service p
WHERE targets > $threshold
ORDER BY window_start, entity;
