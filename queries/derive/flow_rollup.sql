-- name: flow_rollup
-- description: The 5-minute rollup of the exported flows of one published flows part (not those built from packets), as
--   flow_traffic() in queries/reports/_context.sql counts them: each flow in the bin of its start, with its
--   scaled bytes and packets, once; by IP version, protocol and the part's home bits. {part} is the part's
--   read_parquet() (forensics/store/flow_rollup.py). Run: at import, when the part is published.
INSERT INTO flow_rollups
SELECT $path, $capture_id, time_bin(f.first_ts, 300) AS bin, f.ip_version, f.ip_proto, f.src_home, f.dst_home,
       sum(CAST(coalesce(f.bytes_scaled, f.bytes) AS BIGINT)), sum(CAST(coalesce(f.packets_scaled, f.packets) AS BIGINT)),
       count(*)
FROM {part} f
WHERE f.source IS DISTINCT FROM 'pcap'  -- (a report reads the part's flows built from packets as rows)
GROUP BY ALL
