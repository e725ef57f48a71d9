-- name: tables
-- description: The case database. Every table and column an analyst can query, documented where it is declared.
-- Conventions: times are naive TIMESTAMP in UTC (microseconds); addresses are UHUGEINT, IPv4 stored as the
-- IPv4-mapped IPv6 address ::ffff:a.b.c.d, so one column holds both families and a CIDR match is a range
-- comparison (see macros.sql: ip_text, ip_in). Flow sizes carry their unit in the name.

CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL              -- schema version of this case database
);

CREATE TABLE IF NOT EXISTS captures (
    capture_id INTEGER PRIMARY KEY,       -- id of an imported file (packets.capture_id, flows.capture_id)
    path VARCHAR NOT NULL,                -- absolute path of the file when it was imported
    sha256 VARCHAR NOT NULL UNIQUE,       -- sha256 of the file as stored on disk (compressed bytes for .gz)
    size_bytes BIGINT NOT NULL,           -- file size on disk
    format VARCHAR NOT NULL,              -- detected from content: pcap-le-usec, pcap-be-nsec, pcapng, nfdump-csv, zeek-tsv, ... with +gzip
    link_types VARCHAR,                   -- link types seen, e.g. 'ether(1),raw(101)'; NULL for flow files
    first_ts TIMESTAMP,                   -- earliest packet or flow start (UTC)
    last_ts TIMESTAMP,                    -- latest packet or flow end (UTC)
    packets BIGINT NOT NULL DEFAULT 0,    -- packet records imported
    flow_records BIGINT NOT NULL DEFAULT 0, -- exported flow records imported (NetFlow/IPFIX/sFlow/flow files)
    malformed BIGINT NOT NULL DEFAULT 0,  -- packets or records whose headers were damaged (kept with what was readable)
    undecoded BIGINT NOT NULL DEFAULT 0,  -- packets of a link type or protocol the decoder does not read (kept)
    rejected VARCHAR,                     -- why the file's reading stopped early (with byte offset), NULL when read whole
    importer_version VARCHAR NOT NULL,    -- forensics version that imported the file
    imported_at TIMESTAMP NOT NULL        -- when it was imported (UTC)
);

CREATE TABLE IF NOT EXISTS interfaces (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    iface USMALLINT NOT NULL,             -- interface number in the file (pcapng IDB order across sections; 0 for pcap)
    section USMALLINT NOT NULL,           -- pcapng section number (0 for pcap)
    linktype USMALLINT NOT NULL,          -- LINKTYPE_* value (1 Ethernet, 101 raw IP, 113 SLL, 276 SLL2, ...)
    snaplen UINTEGER,                     -- snapshot length
    tsresol_ns BIGINT,                    -- nanoseconds per timestamp unit (1000 for microseconds)
    name VARCHAR,                         -- if_name option, when present
    fcs_len UTINYINT,                     -- bytes of frame check sequence ending each frame (pcap header FCS bits, pcapng if_fcslen), NULL when not said; counted in caplen/wirelen as tshark's frame.len counts it
    PRIMARY KEY (capture_id, iface)
);
ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS fcs_len UTINYINT;  -- cases made before fcs_len was added
-- The counters of the interface's last pcapng Interface Statistics Block (NULL without one; they count from the
-- start of the capture). A drop counter above 0 makes report bins in the interface's time range `partial`
-- (queries/runs/dropped_bins.sql). Added to older cases on their next writable open.
ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS isb_ifrecv UBIGINT;       -- packets received by the interface (isb_ifrecv)
ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS isb_ifdrop UBIGINT;       -- packets the interface dropped for lack of resources (isb_ifdrop)
ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS isb_filteraccept UBIGINT; -- packets the capture filter accepted (isb_filteraccept)
ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS isb_osdrop UBIGINT;       -- packets the operating system dropped (isb_osdrop)
ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS isb_usrdeliv UBIGINT;     -- packets delivered to the capturing program (isb_usrdeliv)
ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS isb_starttime TIMESTAMP;  -- isb_starttime: when the counters started (UTC)
ALTER TABLE interfaces ADD COLUMN IF NOT EXISTS isb_endtime TIMESTAMP;    -- isb_endtime: when the counters were read (UTC)

-- Packets are stored in packet_rows with IPv4 and IPv6 addresses in separate columns (a 32-bit IPv4
-- column compresses to a few bytes a packet; a mixed 128-bit column does not). Query the packets view:
-- it has one src_ip/dst_ip column for both families, like flows.
CREATE TABLE IF NOT EXISTS packet_rows (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    frame UINTEGER NOT NULL,              -- frame number in the file, from 1, as Wireshark and tcpdump number them
    ts TIMESTAMP NOT NULL,                -- capture time, UTC, microseconds
    iface USMALLINT NOT NULL,             -- interfaces.iface (0 for pcap)
    linktype USMALLINT NOT NULL,          -- link type of the record (LINKTYPE_*)
    file_offset UBIGINT NOT NULL,         -- byte offset of the record (pcap record header / pcapng block) in the uncompressed file
    caplen UINTEGER NOT NULL,             -- bytes captured
    wirelen UINTEGER NOT NULL,            -- bytes on the wire (original length)
    vlan USMALLINT,                       -- outermost 802.1Q/802.1ad VLAN id, NULL when untagged
    vlan_inner USMALLINT,                 -- second VLAN id (QinQ), NULL when absent
    mpls_label UINTEGER,                  -- outermost MPLS label, NULL when absent
    eth_type USMALLINT,                   -- ethertype of the network layer after tags/labels (0x0800, 0x86dd, 0x0806 ...), NULL if unknown
    ip_version UTINYINT,                  -- 4 or 6; NULL for non-IP packets
    src4 UINTEGER,                        -- IPv4 source address as a 32-bit number; NULL for IPv6 and non-IP
    src6 UHUGEINT,                        -- IPv6 source address (also 0 for an IPv4 packet cut before its address)
    dst4 UINTEGER,                        -- IPv4 destination address as a 32-bit number
    dst6 UHUGEINT,                        -- IPv6 destination address
    ip_proto UTINYINT,                    -- transport protocol number (after IPv6 extension headers)
    ip_len USMALLINT,                     -- IP-layer length: IPv4 total length, IPv6 payload length + 40
    ttl UTINYINT,                         -- IPv4 TTL or IPv6 hop limit
    ip_id UINTEGER,                       -- IPv4 identification or IPv6 fragment header identification
    frag_offset USMALLINT,                -- fragment offset in bytes (0 for first or unfragmented)
    frag_flags UTINYINT,                  -- bit 1 = more fragments, bit 2 = don't fragment (IPv4); IPv6 fragment header sets bit 1 as M
    src_port USMALLINT,                   -- TCP/UDP/SCTP source port; NULL when absent (other protocols, non-first fragments, cut)
    dst_port USMALLINT,                   -- TCP/UDP/SCTP destination port
    tcp_flags USMALLINT,                  -- TCP flags: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128, NS 256
    icmp_type UTINYINT,                   -- ICMP or ICMPv6 type
    icmp_code UTINYINT,                   -- ICMP or ICMPv6 code
    malformed BOOLEAN NOT NULL DEFAULT false, -- headers inconsistent or cut short of what they announce (fields present are kept)
    -- Link layer (schema 3; NULL in rows imported by an older version: re-import with --force to fill them).
    -- A MAC address is its 6 bytes as a BLOB, in wire order (DuckDB dictionary-compresses it; a number would be
    -- bit-packed at twice the size). Render with mac_text(m), parse with mac('00:11:22:33:44:55').
    src_mac BLOB,                         -- Ethernet source MAC; Linux SLL/SLL2 link-layer source when it is 6 bytes
    dst_mac BLOB,                         -- Ethernet destination MAC (NULL for SLL/SLL2, raw IP, ...)
    arp_op USMALLINT,                     -- ARP/RARP opcode: 1 request, 2 reply, 3/4 RARP request/reply
    arp_sha BLOB,                         -- ARP sender hardware address (MAC), when the hardware address is 6 bytes
    arp_spa UINTEGER,                     -- ARP sender protocol address (IPv4 as a 32-bit number), when it is 4 bytes
    arp_tha BLOB,                         -- ARP target hardware address
    arp_tpa UINTEGER                      -- ARP target protocol address
);

-- packets: what an analyst queries, one row per packet record. The columns of packet_rows, in the same
-- order, with src4/src6 and dst4/dst6 as one column each:
--   src_ip UHUGEINT  source address (IPv4 as ::ffff:a.b.c.d), render with ip_text(); match with ip_in()
--   dst_ip UHUGEINT  destination address
-- and arp_spa/arp_tpa as UHUGEINT (IPv4-mapped, like src_ip) so that they compare with any address column.
CREATE OR REPLACE VIEW packets AS
SELECT
    capture_id, frame, ts, iface, linktype, file_offset, caplen, wirelen, vlan, vlan_inner, mpls_label, eth_type,
    ip_version,
    coalesce(281470681743360::UHUGEINT + src4, src6) AS src_ip,  -- 281470681743360 = ::ffff:0.0.0.0
    coalesce(281470681743360::UHUGEINT + dst4, dst6) AS dst_ip,
    ip_proto, ip_len, ttl, ip_id, frag_offset, frag_flags, src_port, dst_port, tcp_flags, icmp_type, icmp_code,
    malformed, src_mac, dst_mac, arp_op, arp_sha,
    281470681743360::UHUGEINT + arp_spa AS arp_spa,
    arp_tha,
    281470681743360::UHUGEINT + arp_tpa AS arp_tpa
FROM packet_rows;

CREATE TABLE IF NOT EXISTS flows (
    flow_id BIGINT NOT NULL,              -- unique in the case
    source VARCHAR NOT NULL,              -- who produced the record: pcap, netflow_v5, netflow_v9, ipfix, sflow, nfcapd, nfdump_csv, zeek, suricata
    capture_id INTEGER NOT NULL,          -- captures.capture_id of the file the record came from
    record_pos BIGINT,                    -- position in that file: frame number of the export packet, line number, or record index
    exporter_ip UHUGEINT,                 -- exporter / agent address (NULL for pcap-derived flows)
    observation_domain UBIGINT,           -- IPFIX observation domain, NetFlow v9 source id, sFlow sub-agent id / source id
    first_ts TIMESTAMP NOT NULL,          -- first packet of the flow (UTC)
    last_ts TIMESTAMP NOT NULL,           -- last packet of the flow (UTC)
    ip_version UTINYINT,                  -- 4 or 6
    src_ip UHUGEINT,                      -- source address (IPv4 as ::ffff:a.b.c.d)
    dst_ip UHUGEINT,                      -- destination address
    ip_proto UTINYINT,                    -- transport protocol number
    src_port USMALLINT,                   -- source port (0 when the protocol has none, as NetFlow does)
    dst_port USMALLINT,                   -- destination port; for ICMP, NetFlow's type*256+code convention is NOT used: see icmp_type
    icmp_type UTINYINT,                   -- ICMP type, when known
    icmp_code UTINYINT,                   -- ICMP code, when known
    iface USMALLINT,                      -- capture interface (pcap-derived flows)
    vlan USMALLINT,                       -- VLAN id
    in_if UINTEGER,                       -- input interface ifIndex (exported flows)
    out_if UINTEGER,                      -- output interface ifIndex (exported flows)
    src_as UINTEGER,                      -- source AS
    dst_as UINTEGER,                      -- destination AS
    next_hop UHUGEINT,                    -- next-hop address
    direction UTINYINT,                   -- 0 ingress, 1 egress (NetFlow v9 / IPFIX flowDirection)
    tos UTINYINT,                         -- IP type of service / traffic class
    tcp_flags USMALLINT,                  -- OR of TCP flags over the flow
    packets UBIGINT NOT NULL,             -- packets as counted (sampled packets for sampled exports)
    bytes UBIGINT NOT NULL,               -- IP-layer bytes as counted (NetFlow semantics, as nfdump shows them)
    frame_bytes UBIGINT,                  -- link-layer (wire) bytes, for pcap-derived flows (what tshark's conv counts)
    sampling_rate UINTEGER NOT NULL DEFAULT 1, -- 1 in N sampling in force for the record (1 = unsampled)
    packets_scaled UBIGINT,               -- packets * sampling_rate: an estimate, never mixed with packets
    bytes_scaled UBIGINT                  -- bytes * sampling_rate: an estimate
);

CREATE TABLE IF NOT EXISTS import_rejects (
    capture_id INTEGER,                   -- captures.capture_id when the file was partly imported, NULL when rejected whole
    path VARCHAR NOT NULL,                -- file path
    file_offset BIGINT,                   -- byte offset of the problem, when known
    reason VARCHAR NOT NULL,              -- one-line reason
    rejected_at TIMESTAMP NOT NULL        -- when (UTC)
);
