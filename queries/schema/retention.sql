-- Retention (issue 13): what `forensics retain` removed, and the per-5-minute summary kept for those bins.
-- Added without a schema version bump (CREATE TABLE IF NOT EXISTS): a read-only open of an older case finds
-- no retention tables, which means nothing was ever pruned.

CREATE SEQUENCE IF NOT EXISTS retention_ids START 1;

CREATE TABLE IF NOT EXISTS retention (
    retention_id BIGINT PRIMARY KEY,      -- one `forensics retain` that removed rows (nextval('retention_ids'))
    level VARCHAR NOT NULL,               -- 'packets' (packet rows only; flows built from them stay) or 'flows' (flows and packets)
    cutoff TIMESTAMP NOT NULL,            -- rows before this time (UTC, on a 5-minute boundary) were removed
    packet_rows BIGINT NOT NULL,          -- packet rows removed
    flow_rows BIGINT NOT NULL,            -- flow records removed
    summary_rows BIGINT NOT NULL,         -- traffic_summary rows written first
    home VARCHAR NOT NULL,                -- the home networks the summary's zones were computed with (JSON list of CIDRs)
    done_at TIMESTAMP NOT NULL            -- when (UTC)
);

-- The captures each retention applied to (every capture held at the time, also those that lost no rows):
-- a capture imported later with older traffic is not pruned until the next `forensics retain`.
CREATE TABLE IF NOT EXISTS retention_captures (
    retention_id BIGINT NOT NULL,         -- retention.retention_id
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    packet_rows BIGINT NOT NULL,          -- its packet rows removed
    flow_rows BIGINT NOT NULL,            -- its flow records removed
    PRIMARY KEY (retention_id, capture_id)
);

-- traffic_summary: per capture and clock-aligned 5-minute bin, what the reports counted there before the rows
-- went (queries/retain/summary.sql): bytes (IP layer), packets and flows as traffic() in
-- queries/reports/_context.sql counts them (packets by their own time where held, exported flows by start).
-- internet_summary and protocol_mix answer pruned bins from it (coverage `summary`).
CREATE TABLE IF NOT EXISTS traffic_summary (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    bin TIMESTAMP NOT NULL,               -- start of the 5-minute bin (UTC)
    basis VARCHAR NOT NULL,               -- 'packets' (summed from packets) or 'flows' (from flow records: the packets were gone)
    src_zone VARCHAR NOT NULL,            -- the source address relative to home: home | internet | special (as is_home/is_special)
    dst_zone VARCHAR NOT NULL,            -- the destination address likewise
    direction VARCHAR NOT NULL,           -- in (internet to home), out (home to internet), internal (home to home), transit (internet to internet), other (a special end)
    ip_version UTINYINT,                  -- 4 or 6
    ip_proto UTINYINT,                    -- transport protocol number
    bytes UBIGINT NOT NULL,               -- IP-layer bytes (sampled exports: scaled)
    packets UBIGINT NOT NULL,             -- packets (sampled exports: scaled)
    flows UBIGINT NOT NULL                -- flows starting in the bin
);
