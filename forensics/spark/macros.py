"""The Spark versions of the DuckDB macros that do not transpile as written: the one place they live.

Addresses on Spark are 16-byte BINARY values, big-endian (IPv4 as ::ffff:a.b.c.d, as in the case). Spark
compares BINARY unsigned, byte by byte, so `=`, `<`, BETWEEN, ORDER BY, GROUP BY and joins on addresses give the
same answers as DuckDB's UHUGEINT for all 128 bits. The case's Parquet stores each address column A as two
UINT64 columns A_hi and A_lo (the lake's convention); forensics.spark.source turns them into the BINARY.

Every other macro (the report context's is_home, is_special, traffic(), unit_amount, app_of, as_of, the checks'
misuse_alerts(), ...) is expanded from its DuckDB definition (queries/schema/macros.sql, queries/*/_context.sql,
or a CREATE MACRO run by the report runner) and transpiled with the rest of the query. Those definitions use
UHUGEINT only in ways forensics.spark.transpile rewrites for BINARY: casts of constants and parameters,
`(a >> k) = c` prefix tests, and `hi - lo` of a config block (a column of the block's size).

Bodies below are Spark SQL; their parameters are the names in the tuple. `key_field` and `key_unfield` (the
packed item key of attributes.sql, up to 126 bits) are built in Python, since their bit widths and offsets must be
constants: on Spark the key is a DECIMAL(38,0) (10^38 > 2^126), fields added instead of OR-ed (they never overlap),
so the key orders and groups as the UHUGEINT does.
"""

from __future__ import annotations

V4_PREFIX = "X'00000000000000000000FFFF'"

_GROUPS = ", ".join(f"lower(conv(hex(substring(a, {2 * i + 1}, 2)), 16, 16))" for i in range(8))
_RUNS = [":" + "0:" * n for n in range(8, 1, -1)]  # ':0:0:0:0:0:0:0:0:' ... ':0:0:', longest first
_COMPRESS = " ".join(f"WHEN instr(s, '{run}') > 0 THEN regexp_replace(s, '^(.*?){run}(.*)$', '$1::$2')"
                     for run in _RUNS)

AS_PREFIXES_VAR = "forensics_as_prefixes"
AS_PREFIXES_ARRAY = "SELECT collect_list(struct(x.size_ AS s, x.asn AS n, x.lo AS lo, x.hi AS hi)) FROM {view} x"
AS_OF_BEFORE_4 = (("a", "asn"), f"""
        coalesce(NULLIF(asn, 0),
                 array_min(filter(({AS_PREFIXES_ARRAY.format(view="_as_prefixes")}),
                                  p -> a BETWEEN p.lo AND p.hi)).n)""")

SPARK_MACROS: dict[str, tuple[tuple[str, ...], str]] = {
    # RFC 5952: lower-case groups without leading zeros, the first longest run of two or more zero groups as '::'
    "_ip6_text": (("a",), f"""
        transform(array(concat(':', concat_ws(':', {_GROUPS}), ':')),
            s -> transform(array(CASE {_COMPRESS} ELSE s END),
                z -> transform(array(CASE WHEN substring(z, 1, 2) = '::' THEN z ELSE substring(z, 2) END),
                    y -> CASE WHEN right(y, 2) = '::' THEN y ELSE left(y, length(y) - 1) END)[0])[0])[0]"""),
    "ip_text": (("a",), f"""
        CASE WHEN a IS NULL THEN NULL
             WHEN substring(a, 1, 12) = {V4_PREFIX} THEN
                 concat_ws('.', conv(hex(substring(a, 13, 1)), 16, 10), conv(hex(substring(a, 14, 1)), 16, 10),
                           conv(hex(substring(a, 15, 1)), 16, 10), conv(hex(substring(a, 16, 1)), 16, 10))
             ELSE _ip6_text(a) END"""),
    "ip_in": (("a", "lo", "hi"), "a BETWEEN lo AND hi"),
    "ipv4": (("t",), f"""
        concat({V4_PREFIX}, unhex(lpad(hex(CAST(split_part(t, '.', 1) AS INT)), 2, '0')),
               unhex(lpad(hex(CAST(split_part(t, '.', 2) AS INT)), 2, '0')),
               unhex(lpad(hex(CAST(split_part(t, '.', 3) AS INT)), 2, '0')),
               unhex(lpad(hex(CAST(split_part(t, '.', 4) AS INT)), 2, '0')))"""),
    # clock-aligned bins; the session time zone is UTC, so TIMESTAMP and TIMESTAMP_NTZ hold the same wall time
    "time_bin": (("ts", "secs"), """
        CAST(timestamp_micros(CAST(floor(unix_micros(CAST(ts AS TIMESTAMP)) / (CAST(secs AS BIGINT) * 1000000))
                                   AS BIGINT) * CAST(secs AS BIGINT) * 1000000) AS TIMESTAMP_NTZ)"""),
    # configured interface name: an uncorrelated lookup map (Spark takes no correlated subquery in the SELECT of
    # an aggregate, where the reports call it)
    "if_name": (("i",), """
        coalesce(element_at((SELECT map_from_entries(collect_list(struct(x.ifindex, x.nm)))
                             FROM (SELECT ifindex, min(name) AS nm FROM _ifaces GROUP BY ifindex) x),
                            CAST(i AS BIGINT)), CAST(i AS STRING))"""),
    # the record's ASN, else the most specific AS prefix holding a (arg_min by block size): the prefixes as one
    # uncorrelated array, filtered per row (Spark runs a correlated range lookup as a nested-loop join that
    # failed on the demo case; the AS table is a config table, small). Spark 4.3 takes no subquery inside a
    # higher-order function, so the array is a session variable the connection sets from the table
    # (AS_PREFIXES_VAR, AS_PREFIXES_ARRAY; forensics.spark.connection); AS_OF_BEFORE_4 for Spark 3.5, which has
    # no session variables and takes the subquery.
    "as_of": (("a", "asn"), f"""
        coalesce(NULLIF(asn, 0), array_min(filter({AS_PREFIXES_VAR}, p -> a BETWEEN p.lo AND p.hi)).n)"""),
    "to_seconds": (("x",), "make_dt_interval(0, 0, 0, x)"),
    "to_days": (("x",), "make_dt_interval(x, 0, 0, 0)"),
    # timezone(zone, ts AT TIME ZONE 'UTC'): the wall time in the zone of a UTC time (sqlglot turns the inner
    # AT TIME ZONE 'UTC' into from_utc_timestamp(ts, 'UTC'), the identity under the UTC session zone)
    "timezone": (("tz", "t"), "CAST(from_utc_timestamp(t, tz) AS TIMESTAMP_NTZ)"),
    "mac_text": (("m",), "regexp_replace(regexp_replace(lower(hex(m)), '(..)', '$1:'), ':$', '')"),
    "mac": (("t",), "unhex(replace(replace(t, ':', ''), '-', ''))"),
}


def _dec(value: int) -> str:
    return f"CAST('{value}' AS DECIMAL(38,0))"


def key_field(chosen: str, value: str, width: int, offset: int) -> str:
    """Spark SQL for key_field(c, v, w, off): v (or 2^w for NULL) times 2^off when chosen, else 0."""
    return (f"CASE WHEN {chosen} THEN CAST(coalesce(CAST({value} AS DECIMAL(38,0)), {_dec(1 << width)}) "
            f"* {_dec(1 << offset)} AS DECIMAL(38,0)) ELSE {_dec(0)} END")


def key_unfield(key: str, width: int, offset: int) -> str:
    """Spark SQL for key_unfield(k, w, off): the w+1 bits at off, NULL for the 2^w that stands for NULL."""
    upper, lower = _dec(1 << (offset + width + 1)), _dec(1 << offset)
    return (f"NULLIF(CAST((({key}) % {upper} - ({key}) % {lower}) / {lower} AS BIGINT), "
            f"CAST({1 << width} AS BIGINT))")


COMPUTED = {"key_field": (key_field, (2, 3)), "key_unfield": (key_unfield, (1, 2))}
