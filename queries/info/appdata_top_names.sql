-- name: appdata_top_names
-- description: Names asked for most (DNS, mDNS and LLMNR queries), with who asked, how often, and how many
--   responses said NXDOMAIN. Run: forensics sql -f queries/info/appdata_top_names.sql
SELECT q.qname, q.service, count(*) AS queries, count(DISTINCT q.src_ip) AS askers,
       (SELECT count(*) FROM dns r WHERE r.is_response AND r.qname = q.qname AND r.rcode = 3) AS nxdomain,
       strftime(min(q.ts), '%Y-%m-%dT%H:%M:%S.%fZ') AS first_ts
FROM dns q
WHERE NOT q.is_response
GROUP BY q.qname, q.service
ORDER BY queries DESC, q.qname
LIMIT 20
