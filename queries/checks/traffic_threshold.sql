-- name: traffic_threshold
-- title: Traffic threshold
-- description: ntopng's host traffic threshold: bytes a home host received (ingress), sent (egress) and both (total) per minute (bins aligned to the clock), IP-layer bytes of the packets held plus exported flow records at their start. Default 512 MB (536,870,912 bytes) a minute, about 72 Mbit/s sustained for the whole minute: more than an office host moves in ordinary work; backups and bulk copies that do are worth a look. home_only = false judges every address.
-- severity: medium
-- category: anomaly
-- param: threshold DOUBLE = 536870912
-- param: bin_secs BIGINT = 60
-- param: home_only BOOLEAN = true
-- needs: check_rows
-- unit: bytes
WITH t AS (
    SELECT sec AS ts, src_ip, dst_ip, bytes FROM _check_rows WHERE in_range  -- summed per second (_check_rows.sql)
),
per_host AS (
    SELECT host, bin, sum(b) FILTER (WHERE dir = 'ingress') AS ingress, sum(b) FILTER (WHERE dir = 'egress') AS egress
    FROM (SELECT dst_ip AS host, time_bin(ts, $bin_secs) AS bin, 'ingress' AS dir, bytes AS b FROM t
          UNION ALL
          SELECT src_ip, time_bin(ts, $bin_secs), 'egress', bytes FROM t)
    GROUP BY host, bin
),
judged AS (  -- one row per direction (a constant table joined, not a LATERAL VALUES of columns: Spark runs it)
    SELECT * FROM (
        SELECT host, bin, d.dir,
               CASE d.dir WHEN 'ingress' THEN coalesce(ingress, 0) WHEN 'egress' THEN coalesce(egress, 0)
                          ELSE coalesce(ingress, 0) + coalesce(egress, 0) END AS b
        FROM per_host CROSS JOIN (VALUES ('ingress'), ('egress'), ('total')) d(dir)
        WHERE NOT $home_only OR is_home(host)
    )
    WHERE b > $threshold
)
SELECT ip_text(host) AS entity, bin AS window_start, bin + to_seconds($bin_secs) AS window_end,
       CAST(b AS DOUBLE) AS value, $threshold AS threshold, 'bytes' AS unit,
       printf('%s: %s %.1f MB in %d s; limit %.1f MB', ip_text(host), dir, b / 1048576.0, $bin_secs,
              $threshold / 1048576.0) AS detail,
       CASE dir WHEN 'ingress' THEN 'dst' WHEN 'egress' THEN 'src' ELSE 'src or dst' END || ' host ' || ip_text(host)
           AS evidence
FROM judged
ORDER BY window_start, entity, dir;
