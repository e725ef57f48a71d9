"""Hypothesis: random expressions from the grammar select the same packets as tcpdump on generated captures.

Each leaf is generated as a pair (our text, tcpdump's text). They are the same text except where the
documented semantics differ (docs/filters.md):
- tcp[...] relations: ours match TCP over IPv6 too; libpcap's tcp[] loads are IPv4 only, so tcpdump's
  side adds the IPv6 form `ip6 proto 6 and ip6[53] ...` (no extension headers in these captures).
- VLAN tags: ours look through them; tcpdump is given `(untagged and T) or (vlan and T)`, where
  `untagged` reads the ethertype with ether[12:2] (the `vlan` keyword would shift later offsets).
Binary operators are rendered with and without parentheses, so precedence and the "an id without keyword
takes the most recent keyword" rule are exercised on the same text by both sides.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from filter_corpus import count as tcpdump_count
from filter_synth import KINDS, PORTS, V4, V6, Spec, load, pcap_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics.carve import register_byte_loads
from forensics.filters import compile_filter
from forensics.store import Case

pytestmark = pytest.mark.oracle

NETS = ["10.0.0.0/8", "10.0.0.0/24", "192.168.0.0/16", "2001:db8::/32", "2001:db8:1::/48",
        "10.0.0.0 mask 255.255.0.0", "10.1"]


def _same(text: str) -> tuple[str, str]:
    return text, text


def _tcpflags(rel_tail: str, field: str) -> tuple[str, str]:
    ours = f"{field} {rel_tail}"
    return ours, f"({ours} or (ip6 proto 6 and ip6[53] {rel_tail}))"


addr = st.sampled_from(V4 + V6)
port = st.sampled_from(PORTS)
leaf = st.one_of(
    st.builds(lambda d, a: _same(f"{d}host {a}"), st.sampled_from(["", "src ", "dst ", "src or dst "]), addr),
    st.builds(lambda a: _same(f"ip host {a}"), st.sampled_from(V4)),
    st.builds(lambda a: _same(f"ip6 dst host {a}"), st.sampled_from(V6)),
    st.builds(lambda d, n: _same(f"{d}net {n}"), st.sampled_from(["", "src ", "dst "]), st.sampled_from(NETS)),
    st.builds(lambda p, d, n: _same(f"{p}{d}port {n}"), st.sampled_from(["", "tcp ", "udp "]),
              st.sampled_from(["", "src ", "dst "]), port),
    st.builds(lambda lo, hi: _same(f"portrange {min(lo, hi)}-{max(lo, hi)}"), port, port),
    st.sampled_from(["tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp", "ip proto 47", "proto 17",
                     "ip6 proto 58", "ip proto \\udp"]).map(_same),
    st.builds(lambda w, n: _same(f"{w} {n}"), st.sampled_from(["less", "greater"]), st.sampled_from([60, 80, 100])),
    st.builds(lambda f, m: _tcpflags(f"& {m} != 0", f), st.sampled_from(["tcp[tcpflags]", "tcp[13]"]),
              st.sampled_from(["tcp-syn", "(tcp-syn|tcp-ack)", "tcp-fin", "0x12", "tcp-rst|tcp-push"])),
    st.builds(lambda v: _tcpflags(f"== {v}", "tcp[tcpflags]"), st.sampled_from(["tcp-syn", "tcp-ack", "18"])),
    st.builds(lambda t: _same(f"icmp[icmptype] == {t}"), st.sampled_from(["icmp-echo", "icmp-echoreply", "3"])),
    st.sampled_from(["host 10.0.0.1 or 10.0.0.2", "port 80 or 443", "not host 10.0.0.1 and 10.0.0.2",
                     "tcp dst port 445 or 22"]).map(_same),
    # link layer and ARP
    st.sampled_from(["ether broadcast", "ether multicast", "broadcast", "multicast", "ether dst 02:00:00:00:00:02",
                     "ether src 02:00:00:00:00:01", "ether host 01:00:5e:00:00:fb", "ether proto 0x0806",
                     "arp host 198.51.100.1", "arp dst host 198.51.100.2", "src host 198.51.100.1",
                     "net 198.51.100.0/24", "arp[7] == 2", "arp[6:2] == 1", "ip multicast", "ether[0] & 1 != 0",
                     "ip[8] == 64", "ip[1] == 0", "ip[6:2] & 0x3fff == 0"]).map(_same),
)


def _combine(children: st.SearchStrategy) -> st.SearchStrategy:
    unary = st.builds(lambda c, bang: (f"{bang}{c[0]}", f"{bang}{c[1]}"), children, st.sampled_from(["not ", "!"]))
    binary = st.builds(
        lambda a, b, op, paren: (f"{'(' if paren else ''}{a[0]} {op} {b[0]}{')' if paren else ''}",
                                 f"{'(' if paren else ''}{a[1]} {op} {b[1]}{')' if paren else ''}"),
        children, children, st.sampled_from(["and", "or", "&&", "||"]), st.booleans())
    return st.one_of(unary, binary)


expressions = st.recursive(leaf, _combine, max_leaves=6)

specs = st.lists(
    st.builds(Spec, kind=st.sampled_from(KINDS), src=st.integers(0, 3), dst=st.integers(0, 3), sport=port,
              dport=port, flags=st.integers(0, 255), icmp_type=st.sampled_from([0, 3, 8, 11]),
              icmp_code=st.integers(0, 1), vlan=st.sampled_from([None, None, 10, 100]), pad=st.integers(0, 60),
              dst_mac=st.integers(0, 2), arp_op=st.sampled_from([1, 2])),
    min_size=1, max_size=25,
)


def _tcpdump_text(theirs: str, tagged: bool) -> str:
    if not tagged:
        return theirs
    untagged = "ether[12:2] != 0x8100"
    return f"({untagged} and ({theirs})) or (vlan and ({theirs}))"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packets=specs, exprs=st.lists(expressions, min_size=1, max_size=4),
       vlan_top=st.sampled_from([None, "vlan", "vlan 100"]))
def test_filters_agree_with_tcpdump(packets, exprs, vlan_top):
    tagged = any(p.vlan is not None for p in packets)
    with tempfile.TemporaryDirectory() as tmp, Case.open(":memory:") as case:
        path = Path(tmp) / "gen.pcap"
        path.write_bytes(pcap_bytes(packets))
        load(case, packets, str(path))
        register_byte_loads(case.con)
        for ours, theirs in exprs:
            if vlan_top:
                ours_e, theirs_e = f"{vlan_top} and ({ours})", f"{vlan_top} and ({theirs})"
            else:
                ours_e, theirs_e = ours, _tcpdump_text(theirs, tagged)
            sql, params = compile_filter(ours_e)
            got = case.con.execute(f"SELECT count(*) FROM packets WHERE {sql}", params).fetchone()[0]
            want = tcpdump_count(path, theirs_e)
            assert got == want, f"{ours_e!r}: ours {got}, tcpdump {want} ({theirs_e!r})"
