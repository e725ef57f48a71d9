-- name: after_hours
-- title: After-hours connection
-- description: A home host opening TCP connections (SYN without ACK) to an address outside the home networks outside business hours, one alert per host and hour (a night of connections, or a port scan, is one alert per hour, not one per connection). Business hours come from the case config ([business_hours] days, start, end, timezone; default Monday to Friday 08:00-18:00 UTC) or --param: hours 'HH:MM-HH:MM' (or ntopng's 'HH,HH'), days 'mon,tue,...', timezone an IANA name. value = connection attempts in the hour. Defaults: any such opening is reported (threshold 0); only TCP openings count: the background UDP of a sleeping office (DNS, NTP) and pings are not connections a person opens.
-- severity: low
-- category: policy
-- param: hours VARCHAR = '08:00-18:00'
-- param: days VARCHAR = 'mon,tue,wed,thu,fri'
-- param: timezone VARCHAR = 'UTC'
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- unit: count
WITH bounds AS (
    SELECT list_transform(string_split(replace(replace($hours, ' ', ''), '-', ','), ','),
                          lambda x: CAST(split_part(x, ':', 1) AS INTEGER) * 60
                                    + coalesce(TRY_CAST(NULLIF(split_part(x, ':', 2), '') AS INTEGER), 0)) AS m,
           string_split(replace(lower($days), ' ', ''), ',') AS day_list
),
syns AS (
    SELECT t.ts, t.src_ip, t.dst_ip, t.dst_port, t.packets, time_bin(t.ts, 3600) AS hour_utc
    FROM check_traffic t
    WHERE t.ts >= $from_ts AND t.ts < $to_ts AND t.ip_proto = 6 AND t.tcp_flags & 18 = 2
      AND is_home(t.src_ip) AND NOT is_home(t.dst_ip)
),
offsets AS (  -- offset of the zone per UTC hour (offsets change on hour boundaries): one lookup an hour, not a row
    SELECT hour_utc, timezone($timezone, hour_utc AT TIME ZONE 'UTC') - hour_utc AS offset
    FROM (SELECT DISTINCT hour_utc FROM syns)
),
opens AS (
    SELECT s.*, s.ts + o.offset AS lt FROM syns s JOIN offsets o USING (hour_utc)
),
outside AS (
    SELECT o.* FROM opens o, bounds b
    WHERE NOT (list_contains(b.day_list, ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'][isodow(o.lt)])
               AND hour(o.lt) * 60 + minute(o.lt) >= b.m[1] AND hour(o.lt) * 60 + minute(o.lt) < b.m[2])
)
SELECT ip_text(src_ip) AS entity, min(ts) AS window_start,
       greatest(max(ts) + INTERVAL 1 SECOND, time_bin(min(ts), 3600) + INTERVAL 1 HOUR) AS window_end,
       CAST(sum(packets) AS DOUBLE) AS value, CAST(0 AS DOUBLE) AS threshold, 'count' AS unit,
       printf('%s opened %d TCP connection(s) to %d internet address(es) (%s%s) from %s %s (outside business hours %s %s)',
              ip_text(src_ip), sum(packets), count(DISTINCT dst_ip),
              array_to_string(list_sort(list_distinct(list(ip_text(dst_ip) || ':' || CAST(dst_port AS VARCHAR))))[1:3],
                              ', '),
              CASE WHEN count(DISTINCT (dst_ip, dst_port)) > 3 THEN ', ...' ELSE '' END,
              strftime(min(lt), '%a %H:%M'), $timezone, $days, $hours) AS detail,
       CASE WHEN count(DISTINCT dst_ip) = 1
            THEN 'host ' || ip_text(src_ip) || ' and host ' || ip_text(any_value(dst_ip)) || ' and tcp'
                 || CASE WHEN count(DISTINCT dst_port) = 1 THEN ' port ' || CAST(any_value(dst_port) AS VARCHAR) ELSE '' END
            ELSE 'src host ' || ip_text(src_ip) || ' and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' END AS evidence
FROM outside
GROUP BY src_ip, time_bin(ts, 3600)
ORDER BY window_start, entity;
