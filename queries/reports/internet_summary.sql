-- name: internet_summary
-- title: Internet summary
-- description: Traffic by direction. Home = an address in a home network ([home] of the case config; default RFC 1918, 100.64/10, fc00::/7). Internet = an address neither in home nor special; special = multicast (224/4, ff00::/8), broadcast (255.255.255.255 and the last address of each IPv4 home block), link-local (169.254/16, fe80::/10), loopback, unspecified and 240/4: never internet. Into Home = destination in home; Out of Home = source in home; Internet to Home, Home to Internet, Internet to Internet, Home to Home by both ends; Local (multicast, broadcast, link-local) = traffic to or from a special address. Into/Out of Home overlap the others. value is in the chosen unit (bps/pps: average over the bin or period; bytes/packets/flows: sums); bytes (IP layer), packets and flows are totals. Binned by packet time where the case holds the packets, by flow start for exported flows; bins whose flows were removed by retention come from the 5-minute summary kept for them.
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- param: bin_secs BIGINT = 300
-- param: unit VARCHAR = 'bps'
-- param: ip_version INTEGER = 0
-- dimensions: category
-- measures: value, bytes, packets, flows
-- unit: bps
-- needs: summary
WITH categories AS (
    SELECT * FROM (VALUES (1, 'Into Home'), (2, 'Out of Home'), (3, 'Internet to Home'), (4, 'Home to Internet'),
                          (5, 'Internet to Internet'), (6, 'Home to Home'),
                          (7, 'Local (multicast, broadcast, link-local)')) AS c(rank, category)
),
classed AS (  -- summed per bin and kind of both ends first: a few rows per bin to put in categories. Each source
              -- is summed on its own before the union: a union of the rows with the (usually empty) summary would
              -- hide the flows' column statistics from DuckDB (issue 11, see traffic() in _context.sql)
    SELECT bin, sh, dh, si, di, sum(amount) AS amount, sum(bytes) AS bytes, sum(packets) AS packets,
           sum(flows) AS flows
    FROM (SELECT bin, src_home AS sh, dst_home AS dh, NOT src_home AND NOT is_special(src_ip) AS si,  -- is_internet
                 NOT dst_home AND NOT is_special(dst_ip) AS di,
                 sum(unit_amount($unit, bytes, packets, flows)) AS amount,
                 sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
          FROM traffic($from_ts, $to_ts, $bin_secs, $ip_version)
          GROUP BY ALL
          UNION ALL  -- bins whose flows retention removed: the 5-minute summary kept for them (coverage `summary`)
          SELECT bin, src_zone = 'home', dst_zone = 'home', src_zone = 'internet', dst_zone = 'internet',
                 sum(unit_amount($unit, bytes, packets, flows)), sum(bytes), sum(packets), sum(flows)
          FROM summary_traffic($from_ts, $to_ts, $bin_secs, $ip_version)
          GROUP BY ALL)
    GROUP BY ALL
),
long AS (  -- one row per summed piece of traffic and category it belongs to
    SELECT c.rank, c.category, b.bin, b.amount, b.bytes, b.packets, b.flows
    FROM classed b
    JOIN categories c
      ON CASE c.rank
             WHEN 1 THEN b.dh
             WHEN 2 THEN b.sh
             WHEN 3 THEN b.si AND b.dh
             WHEN 4 THEN b.sh AND b.di
             WHEN 5 THEN b.si AND b.di
             WHEN 6 THEN b.sh AND b.dh
             ELSE NOT (b.sh OR b.si) OR NOT (b.dh OR b.di)
         END
),
grouped AS (
    SELECT rank, category, bin,
           sum(amount) / unit_per($unit, CASE WHEN grouping(bin) = 1 THEN date_diff('second', $from_ts, $to_ts)
                                              ELSE $bin_secs END) AS value,
           sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
    FROM long
    GROUP BY GROUPING SETS ((rank, category, bin), (rank, category))
)
SELECT rank, false AS others, category, bin, value, bytes, packets, flows FROM grouped
UNION ALL  -- every category has its row over the window (0 when it saw nothing) once there is any traffic
SELECT c.rank, false, c.category, NULL, 0.0, 0, 0, 0 FROM categories c
WHERE EXISTS (SELECT 1 FROM classed) AND c.rank NOT IN (SELECT rank FROM grouped)
ORDER BY rank, bin NULLS FIRST;
