"""Parsing: pcap-filter precedence, inherited qualifiers, error columns, unsupported primitives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.carve import register_byte_loads
from forensics.errors import FilterSyntaxError, UsageError
from forensics.filters import compile_filter, explain_filter
from forensics.filters.to_sql import uses_byte_loads


@pytest.mark.parametrize(
    ("expr", "parsed"),
    [
        # and/or have equal precedence, left to right; not binds tightest
        ("tcp and port 80 or udp and port 53", "(((tcp and port 80) or udp) and port 53)"),
        ("not tcp and udp", "((not tcp) and udp)"),
        ("! tcp || udp && icmp", "(((not tcp) or udp) and icmp)"),
        ("not (tcp or udp)", "(not (tcp or udp))"),
        # an id without keyword takes the most recent keyword
        ("host 10.0.0.1 or 10.0.0.2", "(host 10.0.0.1 or host 10.0.0.2)"),
        ("port 80 or 443", "(port 80 or port 443)"),
        ("not host 10.0.0.1 and 10.0.0.2", "((not host 10.0.0.1) and host 10.0.0.2)"),
        ("tcp dst port 445 or 139", "(tcp dst port 445 or tcp dst port 139)"),
        ("src or dst host 10.0.0.1", "src or dst host 10.0.0.1"),
        ("10.0.0.1", "host 10.0.0.1"),
        ("net 192.168", "net 192.168.0.0/16"),
        ("net 10.0.0.0 mask 255.0.0.0", "net 10.0.0.0 mask 255.0.0.0"),
        ("proto \\udp or ip proto 47", "(proto 17 or ip proto 47)"),
        ("tcp[tcpflags] & (tcp-syn|tcp-ack) != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) != 0"),
        ("(tcp[13] & 2) != 0 and vlan 100", "((tcp[13] & 2) != 0 and vlan 100)"),
        ("less 64 or greater 1500", "(less 64 or greater 1500)"),
        ("", "(everything)"),
    ],
)
def test_explain(expr, parsed):
    assert explain_filter(expr) == parsed


@pytest.mark.parametrize(
    ("expr", "column", "expected"),
    [
        ("host", 5, "expected an address"),
        ("tcp and or udp", 9, "expected a primitive"),
        ("port 80 )", 9, "expected 'and', 'or' or the end"),
        ("host 10.0.0.1 and (udp", 23, "expected ')'"),
        ("port eighty", 6, "expected a port number"),
        ("tcp[tcpflags] & tcp-syn !=", 27, "expected a comparison"),
        ("udp $ 1", 5, "unexpected character"),
        ("host 10.0.0.1'; DROP TABLE packets; --", 14, "unexpected character"),
        ("vlan 5000", 6, "expected a number up to 4095"),
    ],
)
def test_syntax_errors_name_the_column(expr, column, expected):
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(expr)
    assert info.value.column == column
    assert expected in str(info.value)
    assert f"column {column}" in str(info.value)


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("gateway snup", "'gateway' is not supported"),
        ("ip6 broadcast", "IPv6 has no broadcast"),
        ("ppp[0] = 1", "ppp[...] is not supported"),
        ("ether proto \\stp", "'ether proto stp' is not supported"),
        ("fddi host 10.0.0.1", "'fddi' is not supported"),
        ("host example.com", "not resolved offline"),
        ("ip6 host 10.0.0.1", "IPv4"),
        ("tcp host 10.0.0.1", "not valid"),
        ("arp host 2001:db8::1", "IPv4 addresses only"),
    ],
)
def test_unsupported_primitives_are_usage_errors(expr, needle):
    with pytest.raises(UsageError) as info:
        compile_filter(expr)
    assert needle in str(info.value)


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("tcp[13] & 0xffffffffffffffffffff != 0", "larger than 32 bits"),
        ("ip[4294967296] = 1", "larger than 32 bits"),
        ("tcp[0:3] = 1", "data size must be 1, 2 or 4"),
        ("ether host 00:11:22:33:44", "expected a MAC address"),
        ("ether net 10.0.0.0/8", "after 'ether', found 'net'"),
        ("arp port 80", "'arp port' is not valid"),
    ],
)
def test_libpcap_refusals_are_one_line_syntax_errors(expr, needle):
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(expr)
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("expr", "explained"),
    [
        ("ether host 00:11:22:33:44:55 or 66-77-88-99-AA-BB",
         "(ether host 00:11:22:33:44:55 or ether host 66-77-88-99-aa-bb)"),
        ("link src 0011.2233.4455", "ether src host 0011.2233.4455"),
        ("arp src host 10.0.0.1 or 10.0.0.2", "(arp src host 10.0.0.1 or arp src host 10.0.0.2)"),
        ("ether proto \\arp and broadcast", "(ether proto arp and broadcast)"),
        ("ip6 multicast or ether multicast", "(ip6 multicast or ether multicast)"),
    ],
)
def test_link_layer_primitives_parse(expr, explained):
    assert explain_filter(expr) == explained


@pytest.mark.parametrize("expr", ["less 100", "greater 100", "arp", "mpls", "len > 60 and tcp",
                                  "ether host 1:2:3:4:5:6", "broadcast", "ip[8] < 64", "arp host 10.0.0.1"])
def test_flows_reject_per_packet_primitives(expr):
    compile_filter(expr, "packets")
    with pytest.raises(UsageError) as info:
        compile_filter(expr, "flows")
    assert "cannot apply to flows" in str(info.value)


def test_values_are_bound_never_in_the_sql():
    a_sql, a_params = compile_filter("host 10.20.30.40 and tcp dst port 4242 or net 2001:db8::/32")
    b_sql, b_params = compile_filter("host 192.0.2.7 and tcp dst port 22 or net 2001:db9::/48")
    assert a_sql == b_sql  # the structure depends on the grammar, never on the values
    assert a_params != b_params
    for value in ("10.20.30.40", "4242", "2001", "db8"):
        assert value not in a_sql


def test_alias_and_prefix():
    sql, params = compile_filter("tcp port 80", alias="p", prefix="g")
    assert "p.ip_proto" in sql and "p.src_port" in sql
    assert set(params) == {"g0", "g1"}
    with pytest.raises(UsageError):
        compile_filter("tcp", alias="p; DROP TABLE x")
    with pytest.raises(UsageError):
        compile_filter("tcp", table="captures")


_ALPHABET = list("()[]!&|=<>-+*/:\\ .0123456789abcdefx") + ["host ", "net ", "port ", "tcp", "and ", "or ",
                                                            "not ", "vlan ", "src ", "dst ", "tcpflags", "mask "]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ALPHABET), max_size=20).map("".join))
def test_any_text_compiles_or_raises_a_typed_error(text):
    from forensics.errors import ForensicsError

    try:
        sql, params = compile_filter(text)
    except ForensicsError as exc:
        assert str(exc).startswith("filter")
        return
    assert all(name.startswith("f") for name in params)
    if uses_byte_loads(sql):
        register_byte_loads(_CASE[0].con)
    _CASE[0].con.execute(f"SELECT count(*) FROM packets WHERE {sql}", params).fetchone()  # valid SQL


def _case():
    from forensics.store import Case

    return Case.open(":memory:")


_CASE = [_case()]


@pytest.mark.parametrize("expr", ["(" * 60 + "tcp" + ")" * 60, "not " * 3000 + "tcp", " or ".join(["tcp"] * 3000)])
def test_pathological_nesting_is_a_typed_error(expr):
    from forensics.errors import ForensicsError

    with pytest.raises(ForensicsError):
        compile_filter(expr)
        explain_filter(expr)
