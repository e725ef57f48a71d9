-- name: appdata
-- description: Application metadata read from packet payloads during import (forensics/appdata/).
-- Every row is one packet's message: capture_id + frame name the packet (join packets for anything else,
-- carve it back with forensics carve). Addresses UHUGEINT (IPv4-mapped), times naive UTC. Only the
-- packets the import selects as candidates are read: see forensics/ingest/appdata_pass.py.

CREATE TABLE IF NOT EXISTS dns (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    frame UINTEGER NOT NULL,              -- packets.frame (a TCP segment may hold several messages: several rows)
    ts TIMESTAMP NOT NULL,                -- packet time (UTC)
    src_ip UHUGEINT,                      -- packet source address
    dst_ip UHUGEINT,                      -- packet destination address
    src_port USMALLINT,                   -- packet source port
    dst_port USMALLINT,                   -- packet destination port
    service VARCHAR NOT NULL,             -- dns, mdns (port 5353) or llmnr (port 5355); dns also for DNS found on another port
    transport VARCHAR NOT NULL,           -- udp or tcp
    txid USMALLINT NOT NULL,              -- transaction id
    is_response BOOLEAN NOT NULL,         -- QR bit
    opcode UTINYINT NOT NULL,             -- 0 query, 1 inverse, 2 status, 4 notify, 5 update
    rcode UTINYINT NOT NULL,              -- 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED ... (header 4 bits, no EDNS extension)
    flags USMALLINT NOT NULL,             -- the whole flags word
    qdcount USMALLINT NOT NULL,           -- questions announced
    ancount USMALLINT NOT NULL,           -- answers announced
    nscount USMALLINT NOT NULL,           -- authority records announced
    arcount USMALLINT NOT NULL,           -- additional records announced
    qname VARCHAR,                        -- first question's name, dotted, no trailing dot ('<Root>' for the root)
    qtype USMALLINT,                      -- first question's type (1 A, 28 AAAA, 5 CNAME, 12 PTR, 15 MX, 16 TXT, 33 SRV ...)
    qclass USMALLINT,                     -- first question's class (1 IN; mDNS sets the top bit for unicast-response)
    answers STRUCT(name VARCHAR, type USMALLINT, ttl UINTEGER, address UHUGEINT, data VARCHAR)[] NOT NULL
                                          -- answer section: address for A/AAAA, data (text) for CNAME/NS/PTR/DNAME/MX/SRV/TXT
);

CREATE TABLE IF NOT EXISTS dhcp (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    frame UINTEGER NOT NULL,              -- packets.frame
    ts TIMESTAMP NOT NULL,                -- packet time (UTC)
    src_ip UHUGEINT,                      -- packet source address
    dst_ip UHUGEINT,                      -- packet destination address
    op UTINYINT NOT NULL,                 -- BOOTP op: 1 request, 2 reply
    xid UINTEGER NOT NULL,                -- transaction id
    message_type UTINYINT,                -- option 53: 1 DISCOVER 2 OFFER 3 REQUEST 4 DECLINE 5 ACK 6 NAK 7 RELEASE 8 INFORM
    client_mac VARCHAR,                   -- chaddr as aa:bb:cc:dd:ee:ff (Ethernet hardware type only)
    client_id VARCHAR,                    -- option 61, hex bytes colon-separated
    client_ip UHUGEINT,                   -- ciaddr (NULL when 0.0.0.0)
    assigned_ip UHUGEINT,                 -- yiaddr, the offered/assigned address (NULL when 0.0.0.0)
    requested_ip UHUGEINT,                -- option 50
    server_id UHUGEINT,                   -- option 54, the server that handed out (or is asked for) the lease
    lease_seconds UINTEGER,               -- option 51
    hostname VARCHAR,                     -- option 12
    vendor_class VARCHAR                  -- option 60
);

CREATE TABLE IF NOT EXISTS dhcp6 (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    frame UINTEGER NOT NULL,              -- packets.frame
    ts TIMESTAMP NOT NULL,                -- packet time (UTC)
    src_ip UHUGEINT,                      -- packet source address
    dst_ip UHUGEINT,                      -- packet destination address
    message_type UTINYINT NOT NULL,       -- 1 SOLICIT 2 ADVERTISE 3 REQUEST 4 CONFIRM 5 RENEW 6 REBIND 7 REPLY 8 RELEASE 9 DECLINE 10 RECONFIGURE 11 INFORMATION-REQUEST (of the relayed message when relayed)
    xid UINTEGER NOT NULL,                -- transaction id (24 bits)
    relay_hops UTINYINT NOT NULL,         -- relay headers (RELAY-FORW/REPL) the message came wrapped in; 0 direct
    client_duid VARCHAR,                  -- option 1, the client's DUID as hex (tshark's dhcpv6.duid.bytes)
    server_duid VARCHAR,                  -- option 2, the server's DUID as hex
    client_mac VARCHAR,                   -- the link-layer address in the client's DUID-LLT/DUID-LL (Ethernet only)
    fqdn VARCHAR,                         -- option 39, the client's FQDN, dotted, no trailing dot
    vendor_class VARCHAR,                 -- option 16, the first vendor class data ('MSFT 5.0')
    addresses UHUGEINT[] NOT NULL,        -- IA addresses (option 5 in IA_NA/IA_TA): asked for, offered or assigned
    prefixes STRUCT(address UHUGEINT, length UTINYINT)[] NOT NULL  -- delegated prefixes (option 26 in IA_PD)
);

CREATE TABLE IF NOT EXISTS ntp (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    frame UINTEGER NOT NULL,              -- packets.frame
    ts TIMESTAMP NOT NULL,                -- packet time (UTC)
    src_ip UHUGEINT,                      -- packet source address
    dst_ip UHUGEINT,                      -- packet destination address
    leap UTINYINT NOT NULL,               -- leap indicator
    version UTINYINT NOT NULL,            -- NTP version
    mode UTINYINT NOT NULL,               -- 1 sym. active 2 sym. passive 3 client 4 server 5 broadcast 6 control 7 private
    stratum UTINYINT,                     -- 0 unspecified/kiss, 1 primary, 2-15 secondary (NULL for modes 6 and 7)
    poll TINYINT,                         -- poll interval, log2 seconds
    reference_id UINTEGER,                -- reference id as a number
    reference_text VARCHAR                -- stratum 0-1: the kiss code / clock source text; else as a dotted IPv4 address
);

CREATE TABLE IF NOT EXISTS tls (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    frame UINTEGER NOT NULL,              -- packets.frame of the segment where the hello starts
    ts TIMESTAMP NOT NULL,                -- packet time (UTC)
    src_ip UHUGEINT,                      -- packet source address
    dst_ip UHUGEINT,                      -- packet destination address
    src_port USMALLINT,                   -- packet source port
    dst_port USMALLINT,                   -- packet destination port
    handshake VARCHAR NOT NULL,           -- client_hello or server_hello
    record_version USMALLINT NOT NULL,    -- record layer version (0x0301 = 769 ...)
    version USMALLINT NOT NULL,           -- hello's legacy version (0x0303 = 771 for TLS 1.2 and 1.3)
    supported_versions USMALLINT[],       -- ClientHello supported_versions extension (GREASE included)
    selected_version USMALLINT,           -- ServerHello supported_versions: 0x0304 = 772 is TLS 1.3
    sni VARCHAR,                          -- ClientHello server_name (host_name)
    alpn VARCHAR[],                       -- application protocols offered (client) or chosen (server)
    cipher_suites USMALLINT[],            -- ClientHello cipher suites in order (GREASE included)
    cipher USMALLINT,                     -- ServerHello chosen cipher suite
    extensions USMALLINT[] NOT NULL,      -- extension types in order (GREASE included)
    groups USMALLINT[],                   -- ClientHello supported_groups (elliptic curves)
    ja3 VARCHAR NOT NULL,                 -- JA3 (client) or JA3S (server) string, GREASE removed
    ja3_md5 VARCHAR NOT NULL,             -- its MD5, the usual JA3 / JA3S fingerprint
    ja4 VARCHAR                           -- JA4 (client hellos over TCP), see forensics/appdata/tls.py
);

CREATE TABLE IF NOT EXISTS http (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    frame UINTEGER NOT NULL,              -- packets.frame of the segment with the request/status line
    ts TIMESTAMP NOT NULL,                -- packet time (UTC)
    src_ip UHUGEINT,                      -- packet source address
    dst_ip UHUGEINT,                      -- packet destination address
    src_port USMALLINT,                   -- packet source port
    dst_port USMALLINT,                   -- packet destination port
    is_response BOOLEAN NOT NULL,         -- status line (true) or request line (false)
    head_complete BOOLEAN NOT NULL,       -- the head ends in this segment; false: it continues in the next (headers after the cut are NULL)
    method VARCHAR,                       -- request method
    uri VARCHAR,                          -- request target as sent
    version VARCHAR,                      -- HTTP/1.0 or HTTP/1.1
    status USMALLINT,                     -- response status code
    reason VARCHAR,                       -- response reason phrase
    host VARCHAR,                         -- Host header
    user_agent VARCHAR,                   -- User-Agent header
    server VARCHAR,                       -- Server header
    content_type VARCHAR,                 -- Content-Type header
    content_length UBIGINT                -- Content-Length header
);

CREATE TABLE IF NOT EXISTS smtp (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    frame UINTEGER NOT NULL,              -- packets.frame (a pipelined segment holds several commands: several rows)
    ts TIMESTAMP NOT NULL,                -- packet time (UTC)
    src_ip UHUGEINT,                      -- packet source address
    dst_ip UHUGEINT,                      -- packet destination address
    src_port USMALLINT,                   -- packet source port
    dst_port USMALLINT,                   -- packet destination port
    is_response BOOLEAN NOT NULL,         -- a reply (true) or a command (false)
    command VARCHAR,                      -- command verb, upper case: EHLO, HELO, MAIL, RCPT, DATA, BDAT, STARTTLS, AUTH, QUIT ...
    parameter VARCHAR,                    -- the rest of the command line after the verb ('FROM:<a@b.example> SIZE=10')
    helo VARCHAR,                         -- EHLO/HELO: the name the client gave
    mail_from VARCHAR,                    -- MAIL FROM: the sender's path without <> ('' for the null sender)
    rcpt_to VARCHAR,                      -- RCPT TO: the recipient's path without <>
    reply_code USMALLINT,                 -- reply code (220 greeting, 250 ok, 354 go ahead, 4xx/5xx refusals)
    reply_text VARCHAR                    -- the reply's first line after the code (a multi-line reply is one row)
);

CREATE TABLE IF NOT EXISTS appdata_counts (
    capture_id INTEGER NOT NULL,          -- captures.capture_id
    table_name VARCHAR NOT NULL,          -- dns, dhcp, dhcp6, ntp, tls, http, smtp
    candidates BIGINT NOT NULL,           -- packets read for the capture (all tables together; same on every row)
    rows BIGINT NOT NULL,                 -- rows written to the table
    malformed BIGINT NOT NULL,            -- payloads on the table's ports (or recognised as its protocol) that did not parse
    truncated BIGINT NOT NULL,            -- such payloads cut by the capture's snap length (not damaged: not all kept)
    PRIMARY KEY (capture_id, table_name)
);
