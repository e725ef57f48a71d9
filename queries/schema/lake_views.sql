-- name: lake_views
-- description: A lake case (a folder: case.duckdb + packets/ and flows/ as Parquet; docs/lake.md) keeps the
--   names of a single-file case as views over the Parquet parts, so every report, check and filter reads the same
--   columns and types. Each 128-bit address column A is stored as A_hi, A_lo (UBIGINT, Parquet UINT64: the high
--   and low 64 bits) and rebuilt here as A_hi::UHUGEINT * 18446744073709551616::UHUGEINT + A_lo (the same value
--   as (A_hi::UHUGEINT << 64) | A_lo; the multiply-add costs 0.03 s of CPU per column per 2M rows against 0.04
--   for the shift-or), behind CASE WHEN A_hi = 0 THEN A_lo::UHUGEINT: an IPv4 address (mapped, A_hi = 0) is its
--   low half, and DuckDB evaluates the multiply only for the rows that need it (IPv6): on 10 M IPv4 flows,
--   testing src_ip and dst_ip against a block took 0.32 s of CPU against 0.48 (bench/README.md, s7). capture_id (and day) come from
--   the hive folder names packets/capture_id=N/day=YYYY-MM-DD/. The views' globs below are made absolute under the case
--   folder when a case is opened for writing (forensics/store/lake.py views_sql): file access switched off
--   (enable_external_access = false) still reads them through allowed_directories, which the tool sets.
--   The part packets|flows/capture_id=0/day=1970-01-01/part-empty.parquet holds no rows: globs never come up empty.
--   Small captures share files once compacted (forensics/store/lake_compact.py): shared/packets|flows/day=D/*.parquet,
--   where capture_id is a column of the file (INT32), not a folder; shared/.../day=1970-01-01/part-empty.parquet
--   keeps that glob from coming up empty. The macros read both kinds: hive_types names `day` only, so capture_id is
--   the folder's (read as an integer, cast here) on a part of its own and the file's column on a shared part. A
--   filter on capture_id still prunes whole files by folder name (DuckDB's file filter sees through the cast).

-- The packet parts of `parts` (a glob or list of Parquet files), with the columns of the packets view.
CREATE OR REPLACE MACRO lake_packets(parts) AS TABLE
SELECT
    capture_id::INTEGER AS capture_id, frame, ts, iface, linktype, file_offset, caplen, wirelen, vlan, vlan_inner, mpls_label, eth_type,
    ip_version,
    CASE WHEN src_ip_hi = 0 THEN src_ip_lo::UHUGEINT
         ELSE src_ip_hi::UHUGEINT * 18446744073709551616::UHUGEINT + src_ip_lo END AS src_ip,
    CASE WHEN dst_ip_hi = 0 THEN dst_ip_lo::UHUGEINT
         ELSE dst_ip_hi::UHUGEINT * 18446744073709551616::UHUGEINT + dst_ip_lo END AS dst_ip,
    ip_proto, ip_len, ttl, ip_id, frag_offset, frag_flags, src_port, dst_port, tcp_flags, icmp_type, icmp_code,
    malformed, src_mac, dst_mac, arp_op, arp_sha,
    CASE WHEN arp_spa_hi = 0 THEN arp_spa_lo::UHUGEINT
         ELSE arp_spa_hi::UHUGEINT * 18446744073709551616::UHUGEINT + arp_spa_lo END AS arp_spa,
    arp_tha,
    CASE WHEN arp_tpa_hi = 0 THEN arp_tpa_lo::UHUGEINT
         ELSE arp_tpa_hi::UHUGEINT * 18446744073709551616::UHUGEINT + arp_tpa_lo END AS arp_tpa
FROM read_parquet(parts, hive_partitioning = true, hive_types = {'day': DATE});

-- The same parts with the columns of packet_rows (IPv4 in src4/dst4/arp_spa/arp_tpa as 32-bit numbers, as
-- the single-file case stores them): the import's own SQL (queries/derive/appdata_candidates.sql) reads these.
CREATE OR REPLACE MACRO lake_packet_rows(parts) AS TABLE
SELECT
    capture_id::INTEGER AS capture_id, frame, ts, iface, linktype, file_offset, caplen, wirelen, vlan, vlan_inner, mpls_label, eth_type,
    ip_version,
    CASE WHEN ip_version = 4 AND src_ip_hi = 0 AND src_ip_lo >> 32 = 65535
         THEN (src_ip_lo & 4294967295)::UINTEGER END AS src4,
    CASE WHEN NOT (ip_version = 4 AND src_ip_hi = 0 AND src_ip_lo >> 32 = 65535)
         THEN src_ip_hi::UHUGEINT * 18446744073709551616::UHUGEINT + src_ip_lo END AS src6,
    CASE WHEN ip_version = 4 AND dst_ip_hi = 0 AND dst_ip_lo >> 32 = 65535
         THEN (dst_ip_lo & 4294967295)::UINTEGER END AS dst4,
    CASE WHEN NOT (ip_version = 4 AND dst_ip_hi = 0 AND dst_ip_lo >> 32 = 65535)
         THEN dst_ip_hi::UHUGEINT * 18446744073709551616::UHUGEINT + dst_ip_lo END AS dst6,
    ip_proto, ip_len, ttl, ip_id, frag_offset, frag_flags, src_port, dst_port, tcp_flags, icmp_type, icmp_code,
    malformed, src_mac, dst_mac, arp_op, arp_sha, (arp_spa_lo & 4294967295)::UINTEGER AS arp_spa,
    arp_tha, (arp_tpa_lo & 4294967295)::UINTEGER AS arp_tpa
FROM read_parquet(parts, hive_partitioning = true, hive_types = {'day': DATE});

-- The flow parts of `parts`, with the columns of the flows table of a single-file case.
CREATE OR REPLACE MACRO lake_flows(parts) AS TABLE
SELECT
    flow_id, source, capture_id::INTEGER AS capture_id, record_pos,
    CASE WHEN exporter_ip_hi = 0 THEN exporter_ip_lo::UHUGEINT
         ELSE exporter_ip_hi::UHUGEINT * 18446744073709551616::UHUGEINT + exporter_ip_lo END AS exporter_ip,
    observation_domain, first_ts, last_ts, ip_version,
    CASE WHEN src_ip_hi = 0 THEN src_ip_lo::UHUGEINT
         ELSE src_ip_hi::UHUGEINT * 18446744073709551616::UHUGEINT + src_ip_lo END AS src_ip,
    CASE WHEN dst_ip_hi = 0 THEN dst_ip_lo::UHUGEINT
         ELSE dst_ip_hi::UHUGEINT * 18446744073709551616::UHUGEINT + dst_ip_lo END AS dst_ip,
    ip_proto, src_port, dst_port, icmp_type, icmp_code, iface, vlan, in_if, out_if, src_as, dst_as,
    CASE WHEN next_hop_hi = 0 THEN next_hop_lo::UHUGEINT
         ELSE next_hop_hi::UHUGEINT * 18446744073709551616::UHUGEINT + next_hop_lo END AS next_hop,
    direction, tos, tcp_flags, packets, bytes, frame_bytes, sampling_rate, packets_scaled, bytes_scaled
FROM read_parquet(parts, hive_partitioning = true, hive_types = {'day': DATE});

-- Each view's second line reads the shared tree. forensics drops that line while the tree holds no rows (only its
-- empty part): planning the UNION ALL of two Parquet scans costs 2-3 ms per query that names the view, which is
-- most of a filtered count over flows (lake.views_sql; the compaction that writes the first shared file
-- rebuilds the views in its transaction, and an open that finds shared files under views without them rebuilds).
CREATE OR REPLACE VIEW packets AS
SELECT * FROM lake_packets('packets/*/*/*.parquet')
UNION ALL SELECT * FROM lake_packets('shared/packets/*/*.parquet');
CREATE OR REPLACE VIEW packet_rows AS
SELECT * FROM lake_packet_rows('packets/*/*/*.parquet')
UNION ALL SELECT * FROM lake_packet_rows('shared/packets/*/*.parquet');
CREATE OR REPLACE VIEW flows AS
SELECT * FROM lake_flows('flows/*/*/*.parquet')
UNION ALL SELECT * FROM lake_flows('shared/flows/*/*.parquet');

-- The version of these definitions (forensics/store/lake.py VIEWS_VERSION): a read-only open of a case whose views
-- carry another rebuilds them when it may write (lake.views_are_old), else reads through the old ones (same rows).
COMMENT ON VIEW packets IS 'forensics lake views 2';
COMMENT ON VIEW packet_rows IS 'forensics lake views 2';
COMMENT ON VIEW flows IS 'forensics lake views 2';
