-- name: macros
-- description: SQL macros for addresses and time. Addresses are UHUGEINT with IPv4 stored as ::ffff:a.b.c.d.
-- ip_text(a)           address as text: dotted quad for IPv4, RFC 5952 compressed form for IPv6
-- ip_in(a, lo, hi)     a is inside the range [lo, hi] (a CIDR block turned into its first and last address)
-- ipv4(text)           '10.1.2.3' -> UHUGEINT (IPv4-mapped), for hand-written queries
-- time_bin(ts, secs)   start of the clock-aligned bin of `secs` seconds that holds ts
-- mac_text(m)          MAC address (a 6-byte BLOB) as text: 00:1a:2b:3c:4d:5e
-- mac(text)            '00:1a:2b:3c:4d:5e' (or with '-') -> the 6-byte BLOB, for hand-written queries

CREATE OR REPLACE MACRO _ip6_text(a) AS
    list_transform(
        [':' || array_to_string(list_transform(range(8), lambda i: lower(hex((a >> CAST(112 - 16 * i AS UHUGEINT)) & 65535))), ':') || ':'],
        lambda s: list_transform(
            [CASE
                WHEN contains(s, ':0:0:0:0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:0:0:0:', '::')
                WHEN contains(s, ':0:0:0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:0:0:', '::')
                WHEN contains(s, ':0:0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:0:', '::')
                WHEN contains(s, ':0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:', '::')
                WHEN contains(s, ':0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:', '::')
                WHEN contains(s, ':0:0:0:') THEN regexp_replace(s, ':0:0:0:', '::')
                WHEN contains(s, ':0:0:') THEN regexp_replace(s, ':0:0:', '::')
                ELSE s
            END],
            lambda z: list_transform(
                [CASE WHEN starts_with(z, '::') THEN z ELSE z[2:] END],
                lambda y: CASE WHEN ends_with(y, '::') THEN y ELSE left(y, length(y) - 1) END
            )[1]
        )[1]
    )[1];

CREATE OR REPLACE MACRO ip_text(a) AS
    CASE
        WHEN a IS NULL THEN NULL
        WHEN (a >> 32) = 65535 THEN
            CAST((a >> 24) & 255 AS VARCHAR) || '.' || CAST((a >> 16) & 255 AS VARCHAR) || '.'
            || CAST((a >> 8) & 255 AS VARCHAR) || '.' || CAST(a & 255 AS VARCHAR)
        ELSE _ip6_text(a)
    END;

CREATE OR REPLACE MACRO ip_in(a, lo, hi) AS a BETWEEN lo AND hi;

CREATE OR REPLACE MACRO ipv4(t) AS
    (CAST(281470681743360 AS UHUGEINT)
     + CAST(split_part(t, '.', 1) AS UHUGEINT) * 16777216 + CAST(split_part(t, '.', 2) AS UHUGEINT) * 65536
     + CAST(split_part(t, '.', 3) AS UHUGEINT) * 256 + CAST(split_part(t, '.', 4) AS UHUGEINT));

CREATE OR REPLACE MACRO time_bin(ts, secs) AS
    make_timestamp(CAST(floor(epoch_us(ts) / (CAST(secs AS BIGINT) * 1000000)) AS BIGINT) * CAST(secs AS BIGINT) * 1000000);

CREATE OR REPLACE MACRO mac_text(m) AS
    rtrim(regexp_replace(lower(hex(m)), '(..)', '\1:', 'g'), ':');

CREATE OR REPLACE MACRO mac(t) AS
    unhex(replace(replace(t, ':', ''), '-', ''));
