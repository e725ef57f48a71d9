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

-- flow_rollups: the 5-minute rollup of the exported flows of each large flows part of a lake, or of each capture with
-- many exported flows in a single-file case (forensics/store/flow_rollup.py), written in the file's import
-- transaction: what flow_traffic() counts of those flows, summed per 5-minute bin of first_ts, IP version, protocol
-- and whether each end is in a home block. A report that needs nothing more (`-- needs: rollup`: protocol_mix)
-- reads these rows in place of those flows when its bins are whole multiples of 5 minutes, nothing narrows the
-- traffic and it runs with the home blocks the rollup was made with. Rows of a lake part no longer listed in
-- lake_parts are never read.
CREATE TABLE IF NOT EXISTS flow_rollups (
    path VARCHAR,                         -- lake_parts.path of the flows part; NULL in a single-file case (the capture's)
    capture_id INTEGER NOT NULL,          -- captures.capture_id of its rows
    home_fp VARCHAR NOT NULL,             -- home_fingerprint() of the home blocks src_home and dst_home answer for
    bin TIMESTAMP,                        -- time_bin(first_ts, 300): the 5-minute bin of the flows' start, UTC
    ip_version UTINYINT,                  -- 4 or 6
    ip_proto UTINYINT,                    -- transport protocol number
    src_home BOOLEAN,                     -- source in a home block
    dst_home BOOLEAN,                     -- destination in a home block
    bytes UBIGINT,                        -- sum of the flows' bytes (scaled by sampling where exported so)
    packets UBIGINT,                      -- sum of their packets (scaled likewise)
    flows UBIGINT                         -- flow records
);
