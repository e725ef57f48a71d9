-- name: traffic_anomaly
-- title: Traffic anomaly
-- description: Total traffic of each configured subnetwork (in = to it, out = from it), interface (in = its input, out = its output; exported flows) and filter (in = to home, out = from home), averaged over 5-minute bins aligned to the clock (:00, :05, ...) from the flows table; a bin outside the band is an alert, consecutive ones make one alert. bps and pps are judged independently, in and out with their own limits: upper_/lower_{bps,pps}_{in,out} (0 = off). A set upper limit wins; otherwise the upper limit is learned (learn): 'trailing' = factor x the mean of the previous trailing_bins bins (at least min_history of them held in the case), 'week' = factor x the mean of the same hour of the week over the previous `weeks` weeks held in the case, 'none' = no learned limit. A learned limit never goes below min_bps / min_pps, so small objects do not alert on a few packets. The band (band_lo, band_hi) is stored beside the alert. Defaults: learn 'trailing' over an hour (12 bins, 6 held), factor 4, floors 10 Mbit/s and 2,000 packets/s: a 5-minute average four times the last hour's and above those floors is a burst worth a look; ordinary daily ramps (the morning's arrival) stay inside.
-- severity: low
-- category: anomaly
-- needs: flow_filters
-- param: upper_bps_in DOUBLE = 0
-- param: upper_bps_out DOUBLE = 0
-- param: upper_pps_in DOUBLE = 0
-- param: upper_pps_out DOUBLE = 0
-- param: lower_bps_in DOUBLE = 0
-- param: lower_bps_out DOUBLE = 0
-- param: lower_pps_in DOUBLE = 0
-- param: lower_pps_out DOUBLE = 0
-- param: learn VARCHAR = 'trailing'
-- param: factor DOUBLE = 4
-- param: trailing_bins INTEGER = 12
-- param: min_history INTEGER = 6
-- param: weeks INTEGER = 4
-- param: min_bps DOUBLE = 10000000
-- param: min_pps DOUBLE = 2000
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- unit: bps
WITH span AS (
    SELECT greatest(time_bin(min(first_ts), 300),
                    CASE WHEN $learn = 'week' THEN time_bin($from_ts, 300) - to_days(7 * $weeks)
                         ELSE time_bin($from_ts, 300) - to_seconds(300 * $trailing_bins) END) AS lo
    FROM flows
),
f AS (
    SELECT flow_id, time_bin(first_ts, 300) AS bin, src_ip, dst_ip, in_if, out_if,
           CAST(coalesce(bytes_scaled, bytes) AS DOUBLE) AS b, CAST(coalesce(packets_scaled, packets) AS DOUBLE) AS p
    FROM flows, span
    WHERE first_ts >= span.lo AND first_ts < $to_ts
),
objects AS (
    SELECT DISTINCT 'subnetwork:' || name AS obj FROM _nets WHERE kind = 'subnetwork'
    UNION SELECT 'interface:' || name FROM _ifaces
    UNION SELECT 'filter:' || name FROM _filters WHERE grp IS NULL
),
traffic AS (
    SELECT 'subnetwork:' || n.name AS obj, 'in' AS dir, f.bin, sum(f.b) AS b, sum(f.p) AS p
    FROM f JOIN _nets n ON n.kind = 'subnetwork' AND f.dst_ip BETWEEN n.lo AND n.hi GROUP BY ALL
    UNION ALL
    SELECT 'subnetwork:' || n.name, 'out', f.bin, sum(f.b), sum(f.p)
    FROM f JOIN _nets n ON n.kind = 'subnetwork' AND f.src_ip BETWEEN n.lo AND n.hi GROUP BY ALL
    UNION ALL
    SELECT 'interface:' || i.name, 'in', f.bin, sum(f.b), sum(f.p) FROM f JOIN _ifaces i ON f.in_if = i.ifindex
    GROUP BY ALL
    UNION ALL
    SELECT 'interface:' || i.name, 'out', f.bin, sum(f.b), sum(f.p) FROM f JOIN _ifaces i ON f.out_if = i.ifindex
    GROUP BY ALL
    UNION ALL
    SELECT 'filter:' || ff.name, CASE WHEN is_home(f.dst_ip) THEN 'in' ELSE 'out' END, f.bin, sum(f.b), sum(f.p)
    FROM f JOIN _flow_filters ff USING (flow_id) GROUP BY ALL
),
grid AS (
    SELECT o.obj, d.dir, g.bin
    FROM objects o, (VALUES ('in'), ('out')) d(dir),
         (SELECT unnest(generate_series(span.lo, $to_ts - INTERVAL 1 MICROSECOND, INTERVAL 5 MINUTE)) AS bin
          FROM span WHERE span.lo IS NOT NULL) g  -- a list unnested, not a table function: Spark runs it too
),
series AS (
    SELECT g.obj, g.dir, g.bin, u.unit,
           CASE u.unit WHEN 'bps' THEN coalesce(t.b, 0) * 8 / 300.0 ELSE coalesce(t.p, 0) / 300.0 END AS v
    FROM grid g LEFT JOIN traffic t USING (obj, dir, bin), (VALUES ('bps'), ('pps')) u(unit)
),
hourly AS (
    SELECT obj, dir, unit, date_trunc('hour', bin) AS hour, avg(v) AS v FROM series GROUP BY ALL
),
learned AS (
    SELECT s.*,
           avg(s.v) OVER w AS trail_mean, count(*) OVER w AS trail_n,
           (SELECT avg(h.v) FROM hourly h
            WHERE h.obj = s.obj AND h.dir = s.dir AND h.unit = s.unit
              AND h.hour < date_trunc('hour', s.bin) - INTERVAL 6 DAY
              AND h.hour >= date_trunc('hour', s.bin) - to_days(7 * $weeks)
              AND isodow(h.hour) = isodow(s.bin) AND hour(h.hour) = hour(s.bin)) AS week_mean
    FROM series s
    WINDOW w AS (PARTITION BY s.obj, s.dir, s.unit ORDER BY s.bin
                 ROWS BETWEEN $trailing_bins PRECEDING AND 1 PRECEDING)
),
banded AS (
    SELECT *,
           CASE unit || '_' || dir WHEN 'bps_in' THEN $upper_bps_in WHEN 'bps_out' THEN $upper_bps_out
                WHEN 'pps_in' THEN $upper_pps_in ELSE $upper_pps_out END AS set_upper,
           CASE unit || '_' || dir WHEN 'bps_in' THEN $lower_bps_in WHEN 'bps_out' THEN $lower_bps_out
                WHEN 'pps_in' THEN $lower_pps_in ELSE $lower_pps_out END AS lower_limit,
           CASE WHEN $learn = 'trailing' AND trail_n >= $min_history THEN $factor * trail_mean
                WHEN $learn = 'week' THEN $factor * week_mean END AS learned_raw
    FROM learned
    WHERE bin >= $from_ts AND bin < $to_ts
),
judged AS (
    SELECT *, CASE WHEN set_upper > 0 THEN set_upper
                   WHEN learned_raw IS NOT NULL THEN greatest(learned_raw, CASE unit WHEN 'bps' THEN $min_bps ELSE $min_pps END)
              END AS upper_limit
    FROM banded
),
out_of_band AS (
    SELECT *, CASE WHEN upper_limit IS NOT NULL AND v > upper_limit THEN 'above' ELSE 'below' END AS side,
           CAST(epoch(bin) AS BIGINT) // 300 AS slot
    FROM judged
    WHERE (upper_limit IS NOT NULL AND v > upper_limit) OR (lower_limit > 0 AND v < lower_limit)
),
runs AS (
    SELECT obj, dir, unit, side, min(bin) AS window_start, max(bin) + INTERVAL 5 MINUTE AS window_end, count(*) AS bins,
           CASE WHEN side = 'above' THEN max(v) ELSE min(v) END AS value,
           min(upper_limit) AS band_hi, max(lower_limit) AS band_lo, bool_or(set_upper > 0) AS set_band
    FROM (SELECT *, slot - row_number() OVER (PARTITION BY obj, dir, unit, side ORDER BY bin) AS island
          FROM out_of_band)
    GROUP BY obj, dir, unit, side, island
)
SELECT r.obj || ' ' || r.dir AS entity, r.window_start, r.window_end, r.value,
       CASE WHEN r.side = 'above' THEN r.band_hi ELSE r.band_lo END AS threshold, r.unit,
       printf('%s %s %s the band in %d 5-min bin(s): %s %.1f %s against %s band [%s, %s]', r.obj, r.dir,
              CASE WHEN r.side = 'above' THEN 'above' ELSE 'below' END, r.bins,
              CASE WHEN r.side = 'above' THEN 'peak' ELSE 'lowest' END, r.value, r.unit,
              CASE WHEN r.set_band OR $learn = 'none' THEN 'the set' ELSE 'a learned (' || $learn || ')' END,
              CASE WHEN r.band_lo > 0 THEN printf('%.1f', r.band_lo) ELSE '0' END,
              CASE WHEN r.band_hi IS NULL THEN 'none' ELSE printf('%.1f', r.band_hi) END) AS detail,
       CASE WHEN starts_with(r.obj, 'interface:') THEN ''
            WHEN starts_with(r.obj, 'filter:') THEN ''
            WHEN r.dir = 'in' THEN (SELECT string_agg('dst net ' || n.cidr, ' or ')
                                    FROM _nets n WHERE n.kind = 'subnetwork' AND 'subnetwork:' || n.name = r.obj)
            ELSE (SELECT string_agg('src net ' || n.cidr, ' or ')
                  FROM _nets n WHERE n.kind = 'subnetwork' AND 'subnetwork:' || n.name = r.obj) END AS evidence,
       (SELECT list({'t': s.bin, 'v': s.v} ORDER BY s.bin) FROM series s
        WHERE s.obj = r.obj AND s.dir = r.dir AND s.unit = r.unit
          AND s.bin >= r.window_start - INTERVAL 1 HOUR AND s.bin < r.window_end + INTERVAL 30 MINUTE) AS series,
       r.band_lo, r.band_hi
FROM runs r
ORDER BY window_start, entity;
