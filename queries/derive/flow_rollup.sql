-- name: flow_rollup
-- description: The 5-minute rollup of exported flows (not those built from packets), as flow_traffic() in
--   queries/reports/_context.sql counts them: each flow in the bin of its start, with its scaled bytes and packets,
--   once; by IP version, protocol and whether each end is in a home block. {flows} is one published flows part of a
--   lake (its read_parquet(), with the part's home bits as {src_home} and {dst_home}) or, in a single-file case,
--   the capture's rows of the flows table (the home blocks as literal ranges on the addresses).
--   forensics/store/flow_rollup.py fills the placeholders. Run: at import, in the file's transaction.
INSERT INTO flow_rollups
SELECT $path, $capture_id, $home_fp, time_bin(f.first_ts, 300) AS bin, f.ip_version, f.ip_proto,
       {src_home} AS src_home, {dst_home} AS dst_home,
       sum(CAST(coalesce(f.bytes_scaled, f.bytes) AS BIGINT)), sum(CAST(coalesce(f.packets_scaled, f.packets) AS BIGINT)),
       count(*)
FROM {flows} f
WHERE f.source IS DISTINCT FROM 'pcap'  -- (a report reads the flows built from packets as rows)
GROUP BY ALL
