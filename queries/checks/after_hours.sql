-- name: after_hours
-- title: After-hours connection
-- description: A home host opening TCP connections (SYN without ACK) to an address outside the home networks outside business hours, one alert per host and bin (bin_secs, default an hour, bins aligned to the clock in UTC: a night of connections, or a port scan, is one alert per hour, not one per connection; bin_secs = 86400 makes it one per host and UTC day). Business hours come from the case config ([business_hours] days, start, end, timezone; default Monday to Friday 08:00-18:00 UTC) or --param: hours 'HH:MM-HH:MM' (or ntopng's 'HH,HH'), days 'mon,tue,...', timezone an IANA name. value = connection attempts in the hour. Defaults: any such opening is reported (threshold 0); only TCP openings count: the background UDP of a sleeping office (DNS, NTP) and pings are not connections a person opens.
-- severity: low
-- category: policy
-- param: hours VARCHAR = '08:00-18:00'
-- param: days VARCHAR = 'mon,tue,wed,thu,fri'
-- param: timezone VARCHAR = 'UTC'
-- param: bin_secs BIGINT = 3600
-- unit: count
-- needs: check_rows
WITH bounds AS (
    SELECT list_transform(string_split(replace(replace($hours, ' ', ''), '-', ','), ','),
                          lambda x: CAST(split_part(x, ':', 1) AS INTEGER) * 60
                                    + coalesce(TRY_CAST(NULLIF(split_part(x, ':', 2), '') AS INTEGER), 0)) AS m,
           string_split(replace(lower($days), ' ', ''), ',') AS day_list
),
syns AS (  -- _check_rows: the run's rows summed per second (queries/checks/_check_rows.sql)
    SELECT t.sec, t.first_ts, t.last_ts, t.src_ip, t.dst_ip, t.dst_port, t.packets, time_bin(t.sec, 3600) AS hour_utc
    FROM _check_rows t
    WHERE t.in_range AND t.ip_proto = 6 AND t.tcp_flags & 18 = 2 AND t.src_home AND NOT t.dst_home
),
offsets AS (  -- offset of the zone per UTC hour (offsets change on hour boundaries): one lookup an hour, not a row
    SELECT hour_utc, timezone($timezone, hour_utc AT TIME ZONE 'UTC') - hour_utc AS offset
    FROM (SELECT DISTINCT hour_utc FROM syns)
),
opens AS (
    SELECT s.*, time_bin(s.sec, $bin_secs) AS bin, s.sec + o.offset AS lt, s.first_ts + o.offset AS first_lt FROM syns s JOIN offsets o USING (hour_utc)
),
outside_rows AS (
    SELECT o.* FROM opens o, bounds b
    WHERE NOT (list_contains(b.day_list, ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][isodow(o.lt)])
               AND hour(o.lt) * 60 + minute(o.lt) >= b.m[1] AND hour(o.lt) * 60 + minute(o.lt) < b.m[2])
),
outside AS (  -- ip_text once per address (it is the costly part of the detail), not once per row
    SELECT o.*, a.dst_text
    FROM outside_rows o JOIN (SELECT dst_ip, ip_text(dst_ip) AS dst_text FROM (SELECT DISTINCT dst_ip FROM outside_rows)) a
         USING (dst_ip)
)
SELECT ip_text(src_ip) AS entity, min(first_ts) AS window_start,
       greatest(max(last_ts) + INTERVAL 1 SECOND, bin + to_seconds($bin_secs)) AS window_end,
       CAST(sum(packets) AS DOUBLE) AS value, CAST(0 AS DOUBLE) AS threshold, 'count' AS unit,
       printf('%s opened %d TCP connection(s) to %d internet address(es) (%s%s) from %s %s (outside business hours %s %s)',
              ip_text(src_ip), sum(packets), count(DISTINCT dst_ip),
              array_to_string(list_sort(list_distinct(list(dst_text || ':' || CAST(dst_port AS VARCHAR))))[1:3],
                              ', '),
              CASE WHEN count(DISTINCT (dst_ip, dst_port)) > 3 THEN ', ...' ELSE '' END,
              strftime(min(first_lt), '%a %H:%M'), $timezone, $days, $hours) AS detail,
       CASE WHEN count(DISTINCT dst_ip) = 1
            THEN 'host ' || ip_text(src_ip) || ' and host ' || ip_text(any_value(dst_ip)) || ' and tcp'
                 || CASE WHEN count(DISTINCT dst_port) = 1 THEN ' port ' || CAST(any_value(dst_port) AS VARCHAR) ELSE '' END
            ELSE 'src host ' || ip_text(src_ip) || ' and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' END AS evidence
FROM outside
GROUP BY src_ip, bin
ORDER BY window_start, entity;
