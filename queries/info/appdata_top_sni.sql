-- name: appdata_top_sni
-- description: TLS server names (ClientHello SNI) with their JA3/JA4 fingerprints and clients.
--   Run: forensics sql -f queries/info/appdata_top_sni.sql
SELECT coalesce(sni, '(no SNI)') AS sni, ja3_md5, ja4, count(*) AS hellos, count(DISTINCT src_ip) AS clients,
       strftime(min(ts), '%Y-%m-%dT%H:%M:%S.%fZ') AS first_ts
FROM tls
WHERE handshake = 'client_hello'
GROUP BY ALL
ORDER BY hellos DESC, sni
LIMIT 20
