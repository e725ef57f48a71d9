-- name: syn_scan
-- title: SYN scan
-- description: ntopng's SYN-scan check: TCP SYNs (without ACK) that got no answer, counted per host per minute (bins aligned to the clock), sent and received separately. A SYN is answered when the reverse direction of its address/port pair carries a SYN-ACK or a RST within a minute of the window; retransmitted SYNs count each time, as ntopng counts them. Default 256 a minute: a client whose connections are refused or time out makes a handful, a scanner or worm hundreds; a host receiving more than that is being flooded or scanned.
-- severity: high
-- category: attack
-- param: threshold DOUBLE = 256
-- param: bin_secs BIGINT = 60
-- needs: check_rows
-- unit: count
WITH syn AS (
    SELECT sec AS ts, src_ip, dst_ip, src_port, dst_port, packets
    FROM _check_rows  -- the run's rows summed per second, and one minute either side (_check_rows.sql)
    WHERE in_range AND ip_proto = 6 AND tcp_flags & 18 = 2
),
answered AS (
    SELECT DISTINCT dst_ip AS src_ip, src_ip AS dst_ip, dst_port AS src_port, src_port AS dst_port
    FROM _check_rows
    WHERE ip_proto = 6 AND (tcp_flags & 18 = 18 OR tcp_flags & 4 = 4)
),
unanswered AS (
    SELECT s.* FROM syn s ANTI JOIN answered a USING (src_ip, dst_ip, src_port, dst_port)
),
per_host AS (
    SELECT 'sent' AS role, src_ip AS host, time_bin(ts, $bin_secs) AS bin, sum(packets) AS n,
           count(DISTINCT dst_ip) AS peers
    FROM unanswered GROUP BY ALL
    UNION ALL
    SELECT 'received', dst_ip, time_bin(ts, $bin_secs), sum(packets), count(DISTINCT src_ip)
    FROM unanswered GROUP BY ALL
)
SELECT ip_text(host) AS entity, bin AS window_start, bin + to_seconds($bin_secs) AS window_end,
       CAST(n AS DOUBLE) AS value, $threshold AS threshold, 'count' AS unit,
       printf('%d unanswered SYNs %s in %d s (%s %d hosts); limit %s', n, role, $bin_secs,
              CASE role WHEN 'sent' THEN 'to' ELSE 'from' END, peers, CAST($threshold AS VARCHAR)) AS detail,
       CASE role WHEN 'sent' THEN 'src' ELSE 'dst' END || ' host ' || ip_text(host)
           || ' and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' AS evidence,
       (SELECT list({'t': q.bin, 'v': CAST(q.n AS DOUBLE)} ORDER BY q.bin) FROM per_host q
        WHERE q.role = p.role AND q.host = p.host AND q.bin >= p.bin - to_seconds(5 * $bin_secs)
          AND q.bin <= p.bin + to_seconds(5 * $bin_secs)) AS series
FROM per_host p
WHERE n > $threshold
ORDER BY window_start, entity;
