-- name: internet_summary
-- title: Internet summary
-- description: Traffic by direction relative to the home networks: Into Home (destination in home), Out of Home (source in home), Internet to Home, Home to Internet, Internet to Internet, Home to Home. The first two overlap the others; each value is the average rate over the bin.
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: category
-- measures: value
-- unit: bps
WITH base AS (
    SELECT time_bin(f.first_ts, $bin_secs) AS bin,
           flow_amount($unit, coalesce(f.bytes_scaled, f.bytes), coalesce(f.packets_scaled, f.packets)) AS amount,
           is_home(f.src_ip) AS sh, is_home(f.dst_ip) AS dh
    FROM flows f
    WHERE f.first_ts >= $from_ts AND f.first_ts < $to_ts AND ($ip_version = 0 OR f.ip_version = $ip_version)
),
per_bin AS (
    SELECT bin,
           sum(CASE WHEN dh THEN amount ELSE 0 END) AS c1,
           sum(CASE WHEN sh THEN amount ELSE 0 END) AS c2,
           sum(CASE WHEN NOT sh AND dh THEN amount ELSE 0 END) AS c3,
           sum(CASE WHEN sh AND NOT dh THEN amount ELSE 0 END) AS c4,
           sum(CASE WHEN NOT sh AND NOT dh THEN amount ELSE 0 END) AS c5,
           sum(CASE WHEN sh AND dh THEN amount ELSE 0 END) AS c6
    FROM base GROUP BY bin
),
long AS (
    SELECT 1 AS rank, 'Into Home' AS category, bin, c1 AS v FROM per_bin
    UNION ALL SELECT 2, 'Out of Home', bin, c2 FROM per_bin
    UNION ALL SELECT 3, 'Internet to Home', bin, c3 FROM per_bin
    UNION ALL SELECT 4, 'Home to Internet', bin, c4 FROM per_bin
    UNION ALL SELECT 5, 'Internet to Internet', bin, c5 FROM per_bin
    UNION ALL SELECT 6, 'Home to Home', bin, c6 FROM per_bin
)
SELECT rank, false AS others, category, bin,
       sum(v) / CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts) ELSE $bin_secs END AS value
FROM long
GROUP BY GROUPING SETS ((rank, category, bin), (rank, category))
ORDER BY rank, bin NULLS FIRST;
