-- name: macros
-- description: SQL macros for addresses and time. Addresses are UHUGEINT with IPv4 stored as ::ffff:a.b.c.d.
-- ip_text(a)           address as text: dotted quad for IPv4, RFC 5952 compressed form for IPv6
-- ip_in(a, lo, hi)     a is inside the range [lo, hi] (a CIDR block turned into its first and last address)
-- ipv4(text)           '10.1.2.3' -> UHUGEINT (IPv4-mapped), for hand-written queries
-- time_bin(ts, secs)   start of the clock-aligned bin of `secs` seconds that holds ts

CREATE OR REPLACE MACRO _ip6_groups(a) AS
    ':' || lower(hex((a >> 112) & 65535)) || ':' || lower(hex((a >> 96) & 65535))
    || ':' || lower(hex((a >> 80) & 65535)) || ':' || lower(hex((a >> 64) & 65535))
    || ':' || lower(hex((a >> 48) & 65535)) || ':' || lower(hex((a >> 32) & 65535))
    || ':' || lower(hex((a >> 16) & 65535)) || ':' || lower(hex(a & 65535)) || ':';

CREATE OR REPLACE MACRO _ip6_zeros(s) AS
    CASE
        WHEN contains(s, ':0:0:0:0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:0:0:0:', '::')
        WHEN contains(s, ':0:0:0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:0:0:', '::')
        WHEN contains(s, ':0:0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:0:', '::')
        WHEN contains(s, ':0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:', '::')
        WHEN contains(s, ':0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:', '::')
        WHEN contains(s, ':0:0:0:') THEN regexp_replace(s, ':0:0:0:', '::')
        WHEN contains(s, ':0:0:') THEN regexp_replace(s, ':0:0:', '::')
        ELSE s
    END;

CREATE OR REPLACE MACRO _ip6_trim(s) AS
    CASE WHEN starts_with(s, '::') THEN s ELSE s[2:] END;

CREATE OR REPLACE MACRO _ip6_text(a) AS
    reverse(_ip6_trim(reverse(_ip6_trim(_ip6_zeros(_ip6_groups(a))))));

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
    make_timestamp(CAST(floor(epoch_us(ts) / (secs * 1000000)) AS BIGINT) * secs * 1000000);
