-- name: port_scan
-- title: Port scan
-- description: One source probing many ports of one destination: distinct destination ports per (source, destination) per minute (bins aligned to the clock), over TCP SYNs without ACK and UDP packets sent from a higher port to a lower one (a server's UDP answers go from its low service port to the client's high port, so they never count). Default more than 100 ports a minute: a client talks to a few service ports of a server; even passive FTP or RPC opens a few dozen at most.
-- severity: high
-- category: attack
-- param: threshold DOUBLE = 100
-- param: bin_secs BIGINT = 60
-- needs: check_rows
-- unit: count
WITH probes AS (
    SELECT sec AS ts, src_ip, dst_ip, ip_proto, dst_port
    FROM _check_rows  -- the run's rows summed per second (queries/checks/_check_rows.sql)
    WHERE in_range
      AND ((ip_proto = 6 AND tcp_flags & 18 = 2) OR (ip_proto = 17 AND dst_port < src_port))
),
per_pair AS (
    SELECT src_ip, dst_ip, time_bin(ts, $bin_secs) AS bin, count(DISTINCT (ip_proto, dst_port)) AS ports,
           min(dst_port) AS lo_port, max(dst_port) AS hi_port
    FROM probes GROUP BY ALL
)
SELECT ip_text(src_ip) AS entity, bin AS window_start, bin + to_seconds($bin_secs) AS window_end,
       CAST(ports AS DOUBLE) AS value, $threshold AS threshold, 'count' AS unit,
       printf('%s probed %d ports (%d-%d) of %s in %d s; limit %s', ip_text(src_ip), ports, lo_port, hi_port,
              ip_text(dst_ip), $bin_secs, CAST($threshold AS VARCHAR)) AS detail,
       'src host ' || ip_text(src_ip) || ' and dst host ' || ip_text(dst_ip)
           || ' and (tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn or udp)' AS evidence,
       (SELECT list({'t': q.bin, 'v': CAST(q.ports AS DOUBLE)} ORDER BY q.bin) FROM per_pair q
        WHERE q.src_ip = p.src_ip AND q.dst_ip = p.dst_ip AND q.bin >= p.bin - to_seconds(5 * $bin_secs)
          AND q.bin <= p.bin + to_seconds(5 * $bin_secs)) AS series
FROM per_pair p
WHERE ports > $threshold
ORDER BY window_start, entity;
