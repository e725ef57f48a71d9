"""The SQL macros render and parse addresses as Python's ipaddress does (RFC 5952 for IPv6)."""

from __future__ import annotations

import ipaddress

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.netaddr import cidr_range, int_to_ip, ip_to_int
from forensics.resources import read_sql

CON = duckdb.connect()
CON.execute(read_sql("schema/macros.sql"))

groups = st.lists(st.sampled_from([0, 0, 0, 1, 0x10, 0xABCD, 0xFFFF]), min_size=8, max_size=8)


@settings(max_examples=300, deadline=None)
@given(groups)
def test_ip_text_matches_ipaddress(g):
    value = int(ipaddress.IPv6Address(":".join(f"{x:x}" for x in g)))
    got = CON.execute("SELECT ip_text($a::UHUGEINT)", {"a": str(value)}).fetchone()[0]
    assert got == int_to_ip(value)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_ipv4_round_trip(v):
    text = str(ipaddress.IPv4Address(v))
    got = CON.execute("SELECT ip_text(ipv4($t)), ipv4($t) = $i::UHUGEINT",
                      {"t": text, "i": str(ip_to_int(text))}).fetchone()
    assert got == (text, True)


def test_cidr_match_is_a_range():
    lo, hi = cidr_range("10.1.20.0/24")
    assert CON.execute("SELECT ip_in(ipv4('10.1.20.77'), $lo::UHUGEINT, $hi::UHUGEINT), "
                       "ip_in(ipv4('10.1.21.0'), $lo::UHUGEINT, $hi::UHUGEINT)",
                       {"lo": str(lo), "hi": str(hi)}).fetchone() == (True, False)


def test_time_bin_is_clock_aligned():
    got = CON.execute("SELECT time_bin(TIMESTAMP '2024-01-01 12:07:31', 300)").fetchone()[0]
    assert got.isoformat() == "2024-01-01T12:05:00"
