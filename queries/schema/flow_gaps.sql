-- name: flow_gaps
-- description: NetFlow v5/v9 and IPFIX sequence-number gaps seen while importing exports: what the exporter sent
-- and the collector never received, counted as each version's sequence counts (v5: flows; v9, RFC 3954: export
-- packets; IPFIX, RFC 7011: data records). Within one import, per exporter and observation domain. A report bin
-- overlapping [before_ts, after_ts] of a gap is `partial` (queries/runs/dropped_bins.sql).

CREATE TABLE IF NOT EXISTS flow_sequence_gaps (
    capture_id INTEGER NOT NULL,          -- captures.capture_id of the import that saw the gap
    exporter_ip UHUGEINT NOT NULL,        -- exporter address (0 for bare export payload files)
    observation_domain UBIGINT NOT NULL,  -- IPFIX observation domain / NetFlow v9 source id / v5 engine type << 8 | engine id
    version UTINYINT NOT NULL,            -- 5, 9 or 10 (IPFIX)
    record_pos BIGINT,                    -- frame number (or datagram index) of the datagram after the gap
    expected_seq UBIGINT NOT NULL,        -- the sequence number that datagram should have carried
    got_seq UBIGINT NOT NULL,             -- the sequence number it carried
    lost UBIGINT NOT NULL,                -- got_seq - expected_seq (mod 2^32), in lost_unit
    lost_unit VARCHAR NOT NULL,           -- flows (v5) | export packets (v9) | data records (IPFIX)
    before_ts TIMESTAMP NOT NULL,         -- export time of the datagram before the gap (UTC)
    after_ts TIMESTAMP NOT NULL           -- export time of the datagram after it (UTC)
);
