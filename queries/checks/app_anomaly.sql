-- name: app_anomaly
-- title: Application anomaly
-- description: The user's own signatures, a list separate from the ten protocol-misuse ones: [checks.app_anomaly.signatures.NAME] in the case config with any of proto, length (IP length range, e.g. "1000-1500"), src, dst (address or CIDR), src_port, dst_port, port (either side; a port or LO-HI range), tcp_flags ("syn,!ack": SYN set, ACK clear), per ("dst", the default, or "src": whose address is counted) and the limits pps and/or bps. Traffic matching a signature is averaged per address over bins of bin_secs (aligned to the clock); a bin above a limit (either triggers; 0 = off) is an alert. Default: no signatures, so nothing is reported until the analyst writes one. An exported flow matches length by its average packet size.
-- severity: medium
-- category: anomaly
-- param: bin_secs BIGINT = 60
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- unit: pps
WITH matched AS (
    SELECT s.name, s.per, s.bps AS bps_limit, s.pps AS pps_limit,
           CASE WHEN s.per = 'src' THEN t.src_ip ELSE t.dst_ip END AS host,
           time_bin(t.ts, $bin_secs) AS bin, t.bytes, t.packets
    FROM check_traffic t
    JOIN _app_signatures s
      ON (s.proto IS NULL OR t.ip_proto = s.proto)
     AND (s.len_lo IS NULL OR t.bytes // greatest(t.packets, 1) BETWEEN s.len_lo AND s.len_hi)
     AND (s.src_lo IS NULL OR t.src_ip BETWEEN s.src_lo AND s.src_hi)
     AND (s.dst_lo IS NULL OR t.dst_ip BETWEEN s.dst_lo AND s.dst_hi)
     AND (s.sport_lo IS NULL OR t.src_port BETWEEN s.sport_lo AND s.sport_hi)
     AND (s.dport_lo IS NULL OR t.dst_port BETWEEN s.dport_lo AND s.dport_hi)
     AND (s.port_lo IS NULL OR t.src_port BETWEEN s.port_lo AND s.port_hi OR t.dst_port BETWEEN s.port_lo AND s.port_hi)
     AND (s.flags_mask IS NULL OR t.tcp_flags & s.flags_mask = s.flags_value)
    WHERE t.ts >= $from_ts AND t.ts < $to_ts
),
per_bin AS (
    SELECT name, per, host, bin, any_value(bps_limit) AS bps_limit, any_value(pps_limit) AS pps_limit,
           CAST(sum(bytes) AS DOUBLE) * 8 / $bin_secs AS bps, CAST(sum(packets) AS DOUBLE) / $bin_secs AS pps
    FROM matched
    GROUP BY name, per, host, bin
),
over AS (
    SELECT *, coalesce(pps_limit > 0 AND pps > pps_limit, false) AS by_pps
    FROM per_bin
    WHERE coalesce(pps_limit > 0 AND pps > pps_limit, false) OR coalesce(bps_limit > 0 AND bps > bps_limit, false)
)
SELECT ip_text(o.host) AS entity, o.bin AS window_start, o.bin + to_seconds($bin_secs) AS window_end,
       CASE WHEN o.by_pps THEN o.pps ELSE o.bps END AS value,
       CASE WHEN o.by_pps THEN o.pps_limit ELSE o.bps_limit END AS threshold,
       CASE WHEN o.by_pps THEN 'pps' ELSE 'bps' END AS unit,
       printf('signature %s per %s %s: %.1f pps, %.0f bps over %d s (limits: %s pps, %s bps)', o.name, o.per,
              ip_text(o.host), o.pps, o.bps, $bin_secs,
              CASE WHEN o.pps_limit > 0 THEN limit_text(o.pps_limit) ELSE 'off' END,
              CASE WHEN o.bps_limit > 0 THEN limit_text(o.bps_limit) ELSE 'off' END) AS detail,
       concat_ws(' and ', o.per || ' host ' || ip_text(o.host),
                 CASE WHEN s.proto IS NOT NULL THEN 'proto ' || CAST(s.proto AS VARCHAR) END,
                 CASE WHEN s.src_lo IS NOT NULL AND s.src_lo = s.src_hi THEN 'src host ' || ip_text(s.src_lo)
                      WHEN s.src_lo IS NOT NULL THEN 'src net ' || ip_text(s.src_lo) || '/'
                          || CAST(CASE WHEN (s.src_lo >> 32) = 65535 THEN 32 ELSE 128 END
                                  - CAST(ceil(log2(CAST(s.src_hi - s.src_lo AS DOUBLE) + 1)) AS INTEGER) AS VARCHAR) END,
                 CASE WHEN s.dst_lo IS NOT NULL AND s.dst_lo = s.dst_hi THEN 'dst host ' || ip_text(s.dst_lo)
                      WHEN s.dst_lo IS NOT NULL THEN 'dst net ' || ip_text(s.dst_lo) || '/'
                          || CAST(CASE WHEN (s.dst_lo >> 32) = 65535 THEN 32 ELSE 128 END
                                  - CAST(ceil(log2(CAST(s.dst_hi - s.dst_lo AS DOUBLE) + 1)) AS INTEGER) AS VARCHAR) END,
                 CASE WHEN s.sport_lo IS NOT NULL THEN 'src portrange ' || s.sport_lo || '-' || s.sport_hi END,
                 CASE WHEN s.dport_lo IS NOT NULL THEN 'dst portrange ' || s.dport_lo || '-' || s.dport_hi END,
                 CASE WHEN s.port_lo IS NOT NULL THEN 'portrange ' || s.port_lo || '-' || s.port_hi END,
                 CASE WHEN s.flags_mask IS NOT NULL THEN 'tcp[tcpflags] & ' || s.flags_mask || ' == ' || s.flags_value END
       ) AS evidence
FROM over o JOIN _app_signatures s ON s.name = o.name
ORDER BY window_start, entity;
