-- name: info_captures
-- description: Each imported file with its counts and time range.
SELECT capture_id, path, format, link_types, packets, flow_records,
       (SELECT count(*) FROM flows f WHERE f.capture_id = c.capture_id AND f.source = 'pcap') AS flows,
       malformed, undecoded, strftime(first_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS first_ts,
       strftime(last_ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS last_ts, sha256, size_bytes, rejected,
       importer_version, strftime(imported_at, '%Y-%m-%dT%H:%M:%SZ') AS imported_at
FROM captures c
ORDER BY capture_id
