-- name: info_totals
-- description: Case-wide totals.
SELECT
    (SELECT count(*) FROM captures) AS captures,
    (SELECT count(*) FROM packets) AS packets,
    (SELECT coalesce(sum(wirelen), 0) FROM packets) AS packet_bytes,
    (SELECT count(*) FROM flows) AS flows,
    (SELECT count(*) FROM flows WHERE source = 'pcap') AS pcap_flows,
    (SELECT count(*) FROM flows WHERE source <> 'pcap') AS exported_flow_records,
    (SELECT coalesce(sum(malformed), 0) FROM captures) AS malformed,
    (SELECT coalesce(sum(undecoded), 0) FROM captures) AS undecoded,
    (SELECT count(*) FROM import_rejects) AS rejects,
    (SELECT strftime(min(first_ts), '%Y-%m-%dT%H:%M:%S.%fZ') FROM captures) AS first_ts,
    (SELECT strftime(max(last_ts), '%Y-%m-%dT%H:%M:%S.%fZ') FROM captures) AS last_ts
