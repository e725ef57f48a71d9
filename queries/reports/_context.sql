-- Helper macros for report definitions (files starting with "_" are not reports).
-- The report runner creates these TEMP tables from the case config before it runs a report:
--   _nets(kind, name, lo, hi)            kind: home | subnetwork | group | farm; CIDR blocks as [lo, hi]
--   _apps(app, proto, port_lo, port_hi)  application signatures (WannaCry.attack = tcp/udp 135,...)
--   _as_prefixes(lo, hi, asn, as_name)   the AS mapping (prefix, ASN, name)
--   _ifaces(ifindex, name, boundary)     named interfaces; boundary = faces the internet
--   _filters(name, grp)                  config filters and the groups they belong to
-- and, when a report's header says `-- needs: flow_filters`, _flow_filters(flow_id, name): flows each
-- config filter matches.
-- is_home(a)              address a is in a home network
-- in_net(a, k, nm)        address a is in the block(s) of kind k called nm
-- flow_amount(u, b, p)    bits (u = 'bps') or packets (u = 'pps') of a flow from bytes b and packets p
-- proto_name(p)           tcp, udp, icmp, ... or the number as text
-- app_of(p, sp, dp)       first application whose signature matches protocol p and port sp or dp
-- as_of(a, asn)           asn when the record has one (non-zero), else the most specific AS prefix of a
-- if_name(i)              configured interface name, else the number as text

-- (the home blocks are read once per query as a list; testing a short list beats a range join per row)
CREATE OR REPLACE TEMP MACRO is_home(a) AS
    len(list_filter((SELECT list({'lo': n.lo, 'hi': n.hi}) FROM _nets n WHERE n.kind = 'home'),
                    lambda x: a BETWEEN x.lo AND x.hi)) > 0;

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
