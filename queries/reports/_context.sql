-- Helper macros for report definitions (files starting with "_" are not reports).
-- The report runner creates these TEMP tables from the case config before it runs a report:
--   _nets(kind, name, lo, hi, cidr)      kind: home | subnetwork | group | farm; CIDR blocks as [lo, hi] and as text
--   _apps(app, proto, port_lo, port_hi)  application signatures (WannaCry.attack = tcp/udp 135,...)
--   _as_prefixes(lo, hi, asn, as_name)   the AS mapping (prefix, ASN, name)
--   _ifaces(ifindex, name, boundary)     named interfaces; boundary = faces the internet
--   _filters(name, grp)                  config filters and the groups they belong to
-- and, when a report's header says `-- needs: flow_filters`, _flow_filters(flow_id, name): flows each
-- config filter matches.
-- and _packet_bins: the packets of the case in the report's window and scope, binned by packet time (see
-- _packet_bins.sql), which traffic() reads.
-- is_home(a)              address a is in a home network
-- is_special(a)           multicast, broadcast (255.255.255.255 and the last address of each IPv4 home block
--                         of /30 or wider), link-local, loopback or unspecified: never "internet"
-- is_internet(a)          neither home nor special: an address out on the internet
-- unit_amount(u, b, p, f) what one record adds to a measure in unit u: bits (bps), packets (pps, packets),
--                         bytes (bytes) or flows (flows), from its bytes b, packets p and flows f
-- unit_per(u, secs)       the divisor turning a sum into the unit: seconds for bps/pps (average rate), else 1
-- traffic(from_ts, to_ts, bin_secs, ipv)  TABLE: what the reports count, one row per piece of traffic:
--     bin, the flow key columns, tcp_flags, handshake (1: a TCP SYN without ACK was sent, the client's side;
--     2: a SYN with ACK, the server's side; 0 neither), packets, bytes (IP layer), flows, src_home and dst_home
--     (is_home of each end; on a lake whose flows parts carry the bits computed at import under the home blocks
--     in force, read from them: forensics/store/home_bits.py, forensics/reports/traffic.py). packets and bytes are
--     BIGINT (a flow's counts fit): DuckDB sums BIGINT into its HUGEINT result about twice as fast as UBIGINT. Where packets are held (flows
--     with source 'pcap') bytes and packets are binned by each packet's own time (_packet_bins) and the
--     flow is counted once, in the bin of its first packet; exported flows (no packets) count bytes,
--     packets and the flow in the bin of the flow's start. ipv: 4, 6 or 0 for both. It is the union of
--     packet_traffic() (the _packet_bins rows) and flow_traffic() (the flows), with the same arguments.
-- rollup_traffic(from_ts, to_ts, bin_secs, ipv)  TABLE: the flows parts' 5-minute rollups read in place of their
--     flows (reports saying `-- needs: rollup`): bin, ip_version, ip_proto, src_home, dst_home, bytes, packets, flows.
-- summary_traffic(from_ts, to_ts, bin_secs, ipv)  TABLE: the 5-minute summary `forensics retain` kept for bins
--     whose flows it removed (reports saying `-- needs: summary`): bin, ip_version, ip_proto, src_zone, dst_zone,
--     bytes, packets, flows. packets_gone(c, last_ts): the packets of a flow of capture c ending at last_ts are gone.
-- in_net(a, k, nm)        address a is in the block(s) of kind k called nm
-- flow_amount(u, b, p)    bits (u = 'bps') or packets (u = 'pps') of a flow from bytes b and packets p
-- proto_name(p)           tcp, udp, icmp, ... or the number as text
-- app_of(p, sp, dp)       first application whose signature matches protocol p and port sp or dp
-- as_of(a, asn)           asn when the record has one (non-zero), else the most specific AS prefix of a
-- if_name(i)              configured interface name, else the number as text
-- key_field(c, v, w, off) value v of a w-bit attribute packed at bit off of a UHUGEINT item key: v when
--                         chosen (c), 2^w when chosen and NULL (sorts last), 0 when not chosen; fields
--                         OR together (attributes.sql: six small attributes in one key column)
-- key_unfield(k, w, off)  the value packed by key_field (NULL for a NULL value)
-- chosen(attrs, name)     attribute `name` is in the comma-separated list `attrs` (a report parameter): tested
--                         inline, DuckDB folds it to a constant, so an unchosen attribute costs nothing per row
--                         (a one-row CTE of choices cross-joined to the traffic cost 1.2 s of CPU on 10 M flows)

-- is_home and home_broadcast read _nets here; the report runner (forensics/reports/context.py) then redefines
-- them with the home blocks as literal ranges (numbers from the parsed config), which DuckDB can test inside
-- the scan: the list subquery cost two nested-loop joins per report on 10 M flows (issue 11).
CREATE OR REPLACE TEMP MACRO is_home(a) AS
    array_length(list_filter((SELECT list({'lo': n.lo, 'hi': n.hi}) FROM _nets n WHERE n.kind = 'home'),
                    lambda x: a BETWEEN x.lo AND x.hi)) > 0;

CREATE OR REPLACE TEMP MACRO home_broadcast(a) AS
    a IN (SELECT n.hi FROM _nets n WHERE n.kind = 'home' AND (n.hi >> 32) = 65535 AND n.hi - n.lo >= 3);

CREATE OR REPLACE TEMP MACRO is_special(a) AS
    a IS NULL
    OR a < CAST(2 AS UHUGEINT)                                                                    -- :: and ::1
    OR a BETWEEN CAST(281470681743360 AS UHUGEINT) AND CAST(281470698520575 AS UHUGEINT)       -- 0.0.0.0/8
    OR a BETWEEN CAST(281472812449792 AS UHUGEINT) AND CAST(281472829227007 AS UHUGEINT)       -- 127.0.0.0/8
    OR a BETWEEN CAST(281473533739008 AS UHUGEINT) AND CAST(281473533804543 AS UHUGEINT)       -- 169.254.0.0/16
    OR a BETWEEN CAST(281474439839744 AS UHUGEINT) AND CAST(281474976710655 AS UHUGEINT)       -- 224/4, 240/4, 255.255.255.255
    -- fe80::/10 link-local and ff00::/8 multicast as ranges, not (a >> 118) = 1018 and (a >> 120) = 255: DuckDB
    -- prunes a range test that the column's min/max exclude (a shift it computes for every row; issue 11)
    OR a BETWEEN CAST(338288524927261089654018896841347694592 AS UHUGEINT)
             AND CAST(338620831926207318622244848606417780735 AS UHUGEINT)                     -- fe80::/10
    OR a >= CAST(338953138925153547590470800371487866880 AS UHUGEINT)                          -- ff00::/8 multicast
    OR home_broadcast(a);                                                                      -- directed broadcast

CREATE OR REPLACE TEMP MACRO is_internet(a) AS NOT is_home(a) AND NOT is_special(a);

CREATE OR REPLACE TEMP MACRO unit_amount(u, b, p, f) AS
    CASE u WHEN 'bps' THEN CAST(b AS DOUBLE) * 8 WHEN 'bytes' THEN CAST(b AS DOUBLE)
           WHEN 'flows' THEN CAST(f AS DOUBLE) ELSE CAST(p AS DOUBLE) END;

CREATE OR REPLACE TEMP MACRO unit_per(u, secs) AS
    CASE WHEN u IN ('bps', 'pps') THEN CAST(secs AS DOUBLE) ELSE 1.0 END;

-- report_basis()          auto | packets | flows: the --basis of the report being run (forensics/reports/basis.py).
--                         packets: exported flows are left out (only packets held count); flows: every flow,
--                         from packets or exported, counts bytes, packets and itself in the bin of its start
--                         (_packet_bins is left empty). packet_held(s): a flow of source s counts its bytes and
--                         packets through _packet_bins; basis_counts(s): a flow of source s counts at all.
CREATE OR REPLACE TEMP MACRO report_basis() AS coalesce(getvariable('forensics_basis'), 'auto');
CREATE OR REPLACE TEMP MACRO packet_held(s) AS s = 'pcap' AND report_basis() <> 'flows';
CREATE OR REPLACE TEMP MACRO basis_counts(s) AS s = 'pcap' OR report_basis() <> 'packets';
-- Retention (forensics retain): packets_gone_before(c) is the time before which capture c's packets were removed
-- (NULL: none were); the report runner redefines it from the retention log (forensics/reports/coverage.py).
-- A flow built from packets counts its own bytes and packets, in the bin of its start, once its packets are
-- gone; a flow that crosses the cutoff counts with the packets still held (its part before the cutoff is gone).
CREATE OR REPLACE TEMP MACRO packets_gone_before(c) AS CAST(NULL AS TIMESTAMP);
CREATE OR REPLACE TEMP MACRO packets_gone(c, last_ts) AS coalesce(last_ts < packets_gone_before(c), false);

CREATE OR REPLACE TEMP MACRO packet_traffic(from_ts, to_ts, bin_secs, ipv) AS TABLE
    SELECT pb.bin, pb.ip_version, pb.src_ip, pb.dst_ip, pb.ip_proto, pb.src_port, pb.dst_port, pb.iface, pb.vlan,
           pb.in_if, pb.out_if, pb.src_as, pb.dst_as, pb.tcp_flags, pb.handshake, CAST(pb.packets AS BIGINT) AS packets,
           CAST(pb.bytes AS BIGINT) AS bytes, 0 AS flows, is_home(pb.src_ip) AS src_home,
           is_home(pb.dst_ip) AS dst_home
    FROM _packet_bins pb
    WHERE pb.filter IS NULL AND pb.bin >= from_ts AND pb.bin < to_ts AND (ipv = 0 OR pb.ip_version = ipv);

CREATE OR REPLACE TEMP MACRO flow_traffic(from_ts, to_ts, bin_secs, ipv) AS TABLE
    SELECT time_bin(f.first_ts, bin_secs) AS bin, f.ip_version, f.src_ip, f.dst_ip, f.ip_proto, f.src_port,
           f.dst_port, f.iface, f.vlan, f.in_if, f.out_if, f.src_as, f.dst_as, f.tcp_flags,
           CASE WHEN f.ip_proto = 6 AND f.tcp_flags & 18 = 2 THEN 1 ELSE 0 END AS handshake,
           CAST(CASE WHEN packet_held(f.source) AND NOT packets_gone(f.capture_id, f.last_ts) THEN 0
                     ELSE coalesce(f.packets_scaled, f.packets) END AS BIGINT) AS packets,
           CAST(CASE WHEN packet_held(f.source) AND NOT packets_gone(f.capture_id, f.last_ts) THEN 0
                     ELSE coalesce(f.bytes_scaled, f.bytes) END AS BIGINT) AS bytes,
           1 AS flows, is_home(f.src_ip) AS src_home, is_home(f.dst_ip) AS dst_home
    FROM flows f
    WHERE f.first_ts >= from_ts AND f.first_ts < to_ts AND (ipv = 0 OR f.ip_version = ipv)
      AND basis_counts(f.source)
      -- --basis packets: a flow whose packets retention removed has no packets to count
      AND NOT (report_basis() = 'packets' AND packets_gone(f.capture_id, f.last_ts));

-- The union of the two. When the report's window holds no packets (_packet_bins empty: a case of exported flows,
-- or --basis flows) the runner redefines traffic() as flow_traffic() alone (_traffic_flows_only.sql): DuckDB
-- turns the empty packet branch into an empty result, and a UNION with it loses the flows' column statistics
-- (sums in HUGEINT, no pruning of range tests by min/max): 0.3 s CPU of protocol_mix's 0.8 s on 10 M flows.
CREATE OR REPLACE TEMP MACRO traffic(from_ts, to_ts, bin_secs, ipv) AS TABLE
    SELECT * FROM packet_traffic(from_ts, to_ts, bin_secs, ipv)
    UNION ALL
    SELECT * FROM flow_traffic(from_ts, to_ts, bin_secs, ipv);

-- summary_traffic(from_ts, to_ts, bin_secs, ipv)  TABLE: the 5-minute summary of bins whose flows retention removed
-- (TEMP _summary: empty unless the report says `-- needs: summary` and can use it), in the report's bins: bin,
-- ip_version, ip_proto, src_zone and dst_zone (home | internet | special), bytes, packets, flows.
CREATE OR REPLACE TEMP MACRO summary_traffic(from_ts, to_ts, bin_secs, ipv) AS TABLE
    SELECT time_bin(s.bin, bin_secs) AS bin, s.ip_version, s.ip_proto, s.src_zone, s.dst_zone, s.bytes, s.packets,
           s.flows
    FROM _summary s
    WHERE s.bin >= from_ts AND s.bin < to_ts AND (ipv = 0 OR s.ip_version = ipv);

-- rollup_traffic(from_ts, to_ts, bin_secs, ipv)  TABLE: the 5-minute rollups of the flows parts a report reads in
-- place of their flows (TEMP _rollup, forensics/reports/rollup.py: empty unless the report says `-- needs: rollup`
-- and can use them; those parts are then left out of traffic()), in the report's bins: bin, ip_version, ip_proto,
-- src_home, dst_home, bytes, packets, flows. Exported flows only: counted as flow_traffic() counts them.
CREATE OR REPLACE TEMP MACRO rollup_traffic(from_ts, to_ts, bin_secs, ipv) AS TABLE
    SELECT time_bin(r.bin, bin_secs) AS bin, r.ip_version, r.ip_proto, r.src_home, r.dst_home, r.bytes, r.packets,
           r.flows
    FROM _rollup r
    WHERE r.bin >= from_ts AND r.bin < to_ts AND (ipv = 0 OR r.ip_version = ipv) AND report_basis() <> 'packets';

CREATE OR REPLACE TEMP MACRO in_net(a, k, nm) AS
    EXISTS (SELECT 1 FROM _nets n WHERE n.kind = k AND n.name = nm AND a BETWEEN n.lo AND n.hi);

CREATE OR REPLACE TEMP MACRO flow_amount(u, b, p) AS
    CASE WHEN u = 'pps' THEN CAST(p AS DOUBLE) ELSE CAST(b AS DOUBLE) * 8 END;

CREATE OR REPLACE TEMP MACRO proto_name(p) AS
    CASE p WHEN 1 THEN 'icmp' WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' WHEN 47 THEN 'gre' WHEN 50 THEN 'esp'
        WHEN 58 THEN 'icmp6' WHEN 132 THEN 'sctp' ELSE CAST(p AS VARCHAR) END;

CREATE OR REPLACE TEMP MACRO app_of(p, sp, dp) AS
    (SELECT min(ap.app) FROM _apps ap
     WHERE ap.proto = p AND (dp BETWEEN ap.port_lo AND ap.port_hi OR sp BETWEEN ap.port_lo AND ap.port_hi));

CREATE OR REPLACE TEMP MACRO as_of(a, asn) AS
    coalesce(NULLIF(asn, 0), (SELECT arg_min(x.asn, x.hi - x.lo) FROM _as_prefixes x WHERE a BETWEEN x.lo AND x.hi));

CREATE OR REPLACE TEMP MACRO if_name(i) AS
    coalesce((SELECT min(fi.name) FROM _ifaces fi WHERE fi.ifindex = i), CAST(i AS VARCHAR));

CREATE OR REPLACE TEMP MACRO key_field(c, v, w, off) AS
    CASE WHEN c THEN CAST(coalesce(CAST(v AS UBIGINT), CAST(1 AS UBIGINT) << CAST(w AS UBIGINT)) AS UHUGEINT)
                     << CAST(off AS UHUGEINT)
         ELSE CAST(0 AS UHUGEINT) END;

CREATE OR REPLACE TEMP MACRO key_unfield(k, w, off) AS
    NULLIF(CAST((k >> CAST(off AS UHUGEINT)) & ((CAST(1 AS UHUGEINT) << CAST(w + 1 AS UHUGEINT)) - 1) AS UBIGINT),
           CAST(1 AS UBIGINT) << CAST(w AS UBIGINT));

CREATE OR REPLACE TEMP MACRO chosen(attrs, name) AS list_contains(string_split(replace(attrs, ' ', ''), ','), name);
