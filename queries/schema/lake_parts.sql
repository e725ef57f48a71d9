-- name: lake_parts
-- description: The Parquet parts of a lake case (a case folder; docs/lake.md). One row per published file; a file
--   under packets/ or flows/ without a row here is the leftover of an import that never committed, swept on the
--   next open. Empty in a single-file case.
CREATE TABLE IF NOT EXISTS lake_parts (
    path VARCHAR PRIMARY KEY,             -- file path relative to the case folder, e.g. packets/capture_id=3/day=2024-05-01/part-....parquet
    table_name VARCHAR NOT NULL,          -- packets or flows
    capture_id INTEGER NOT NULL,          -- captures.capture_id of every row in the file
    day DATE NOT NULL,                    -- UTC day of every row's ts (packets) or first_ts (flows)
    rows BIGINT NOT NULL,                 -- rows in the file
    bytes BIGINT NOT NULL,                -- file size
    min_ts TIMESTAMP,                     -- earliest ts / first_ts in the file
    max_ts TIMESTAMP                      -- latest ts / first_ts in the file
);

-- flow_home_bits: the captures whose flows parts carry src_home and dst_home (whether each end of a flow is in a
-- home block; forensics/store/home_bits.py), with the fingerprint of the home blocks they were computed from (the
-- case config at import). A report reads those columns instead of testing the addresses only when every capture
-- of the case is listed here with the fingerprint of the home blocks it runs with. Empty in a single-file case.
CREATE TABLE IF NOT EXISTS flow_home_bits (
    capture_id INTEGER PRIMARY KEY,       -- captures.capture_id
    home_fp VARCHAR NOT NULL              -- home_fingerprint() of the blocks the bits were computed from
);
