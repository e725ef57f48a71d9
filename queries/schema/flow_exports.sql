-- name: flow_exports
-- description: Collector state kept across imports (NetFlow v9 / IPFIX templates, data sets still waiting for
-- their template) and sFlow counter samples. Rows are keyed by the capture_id of the import that stored them.

CREATE TABLE IF NOT EXISTS flow_templates (
    capture_id INTEGER NOT NULL,          -- captures.capture_id of the import that last announced (or withdrew) the template
    exporter_ip UHUGEINT NOT NULL,        -- exporter address (0 for bare export payload files without one)
    observation_domain UBIGINT NOT NULL,  -- IPFIX observation domain id / NetFlow v9 source id
    version UTINYINT NOT NULL,            -- 9 (NetFlow v9) or 10 (IPFIX)
    template_id USMALLINT NOT NULL,       -- template id (>= 256)
    is_options BOOLEAN NOT NULL,          -- true for an options template
    scope_count USMALLINT NOT NULL,       -- number of scope fields (options templates), 0 otherwise
    fields VARCHAR,                       -- JSON list of [element id, length (65535 = variable), enterprise number]; NULL when withdrawn
    enterprise_fields USMALLINT NOT NULL, -- enterprise-specific fields in the template (skipped when decoding)
    withdrawn BOOLEAN NOT NULL,           -- true when the exporter withdrew the template (IPFIX field count 0)
    record_pos BIGINT,                    -- frame number (or datagram index) where it was last seen
    seen_at TIMESTAMP                     -- export time of the datagram that carried it (UTC)
);

CREATE TABLE IF NOT EXISTS flow_pending_sets (
    capture_id INTEGER NOT NULL,          -- captures.capture_id of the file the data set came from
    record_pos BIGINT,                    -- frame number (or datagram index) of the export packet
    exporter_ip UHUGEINT NOT NULL,        -- exporter address (0 for bare export payload files)
    observation_domain UBIGINT NOT NULL,  -- IPFIX observation domain id / NetFlow v9 source id
    version UTINYINT NOT NULL,            -- 9 or 10
    template_id USMALLINT NOT NULL,       -- the template the data set needs
    export_secs UBIGINT NOT NULL,         -- unix seconds of the export (header)
    sys_uptime_ms UBIGINT,                -- NetFlow v9 header sysUptime (NULL for IPFIX)
    body BLOB NOT NULL                    -- the data set's records, as received
);

CREATE TABLE IF NOT EXISTS sflow_counters (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    record_pos BIGINT,                    -- frame number of the sFlow datagram
    ts TIMESTAMP NOT NULL,                -- capture time of the datagram (UTC)
    agent_ip UHUGEINT,                    -- sFlow agent address
    sub_agent_id UBIGINT,                 -- sFlow sub-agent id
    sample_sequence UBIGINT,              -- counter sample sequence number
    source_id_type UINTEGER,              -- data source type (0 ifIndex, 1 smonVlanDataSource, 2 entPhysicalEntry)
    source_id_index UINTEGER,             -- data source index
    record_enterprise UINTEGER,           -- counter record enterprise (0 = sFlow standard)
    record_format UINTEGER,               -- counter record format (1 generic interface; others kept undecoded)
    record_length UINTEGER,               -- counter record length in bytes
    if_index UBIGINT,                     -- generic interface counters (format 1): ifIndex
    if_type UBIGINT,                      -- ifType
    if_speed UBIGINT,                     -- ifSpeed, bits per second
    if_direction UBIGINT,                 -- 0 unknown, 1 full duplex, 2 half duplex, 3 in, 4 out
    if_status UBIGINT,                    -- bit 0 admin up, bit 1 oper up
    in_octets UBIGINT,                    -- ifInOctets
    in_ucast_pkts UBIGINT,                -- ifInUcastPkts
    in_mcast_pkts UBIGINT,                -- ifInMulticastPkts
    in_bcast_pkts UBIGINT,                -- ifInBroadcastPkts
    in_discards UBIGINT,                  -- ifInDiscards
    in_errors UBIGINT,                    -- ifInErrors
    in_unknown_protos UBIGINT,            -- ifInUnknownProtos
    out_octets UBIGINT,                   -- ifOutOctets
    out_ucast_pkts UBIGINT,               -- ifOutUcastPkts
    out_mcast_pkts UBIGINT,               -- ifOutMulticastPkts
    out_bcast_pkts UBIGINT,               -- ifOutBroadcastPkts
    out_discards UBIGINT,                 -- ifOutDiscards
    out_errors UBIGINT,                   -- ifOutErrors
    promiscuous UBIGINT                   -- ifPromiscuousMode (1 true, 2 false)
);
