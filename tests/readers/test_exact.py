"""The exact decoder against what the builders put in, against cuts at every byte, and fuzzed.

Expected values come from the construction: the arguments given to tests/builders.py and the byte
offsets its documented layouts imply. tshark and dpkt cross-checks live in test_exact_oracles.py.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from builders import (  # noqa: E402
    ACK,
    CWR,
    ECE,
    FIN,
    NS,
    PSH,
    RST,
    SYN,
    URG,
    chdlc,
    dot11,
    erf,
    eth,
    ext_ah,
    ext_frag,
    gre,
    icmp,
    icmp6,
    ipv4,
    ipv6,
    mpls,
    nflog,
    nflog_tlv,
    null_loop,
    pad60,
    pflog,
    ppi,
    pppoe,
    radiotap,
    sctp,
    sctp_chunk,
    sll,
    sll2,
    snap,
    tcp,
    udp,
)

from forensics.readers.exact import decode_packet as _decode_packet  # noqa: E402
from forensics.readers.exact import decode_records  # noqa: E402
from forensics.records import DECODED_FIELDS, PACKET_FIELDS  # noqa: E402

# The link-layer fields (MACs, ARP) are checked by test_link_layer_fields_from_construction below; the other
# tests here compare every other field.
LINK_KEYS = ("src_mac", "dst_mac", "arp_op", "arp_sha", "arp_spa", "arp_tha", "arp_tpa")
ALL_KEYS = [*(k for k in DECODED_FIELDS if k not in LINK_KEYS), "payload_offset"]


def decode_packet(linktype: int, data: bytes, wirelen: int) -> dict:
    return {k: v for k, v in _decode_packet(linktype, data, wirelen).items() if k not in LINK_KEYS}
S4, D4 = "192.0.2.10", "198.51.100.20"
S6, D6 = "2001:db8:1::10", "2001:db8:2::20"


def blank() -> dict:
    """What the decoder returns when it decodes nothing."""
    out = {k: -1 for k in ALL_KEYS}
    out.update(src_hi=0, src_lo=0, dst_hi=0, dst_lo=0, malformed=False)
    return out


def halves(text: str) -> tuple[int, int]:
    """(hi, lo) uint64 halves of an address in the mapped space."""
    addr = ipaddress.ip_address(text)
    value = (0xFFFF << 32 | int(addr)) if addr.version == 4 else int(addr)
    return value >> 64, value & (2**64 - 1)


def net4(src=S4, dst=D4, proto=6, ip_len=None, ttl=64, ident=0, frag=0, fflags=0) -> dict:
    shi, slo = halves(src)
    dhi, dlo = halves(dst)
    return dict(ip_version=4, src_hi=shi, src_lo=slo, dst_hi=dhi, dst_lo=dlo, ip_proto=proto, ip_len=ip_len,
                ttl=ttl, ip_id=ident, frag_offset=frag, frag_flags=fflags)


def net6(src=S6, dst=D6, proto=6, ip_len=None, ttl=64) -> dict:
    shi, slo = halves(src)
    dhi, dlo = halves(dst)
    return dict(ip_version=6, src_hi=shi, src_lo=slo, dst_hi=dhi, dst_lo=dlo, ip_proto=proto, ip_len=ip_len,
                ttl=ttl)


def expect(*parts: dict, **fields) -> dict:
    out = blank()
    for part in parts:
        out.update(part)
    out.update(fields)
    return out


def check(linktype: int, frame: bytes, expected: dict, wirelen: int | None = None) -> None:
    got = decode_packet(linktype, frame, len(frame) if wirelen is None else wirelen)
    assert set(got) == set(ALL_KEYS)
    diff = {k: (got[k], expected[k]) for k in ALL_KEYS if got[k] != expected[k]}
    assert not diff, f"(got, expected) differ: {diff}"


# ---------------------------------------------------------------------------------------------
# Headers as built, one variant per case. Each case returns (linktype, frame, expected).

PAY = b"payload-bytes"


def v4_tcp(flags=SYN | ACK, **kw):
    seg = tcp(40000, 443, flags, PAY, seq=7, ack=9)
    return ipv4(S4, D4, 6, seg, **kw), seg


def case_eth_v4_tcp():
    pkt, seg = v4_tcp(SYN | ACK | NS, ttl=33, ident=0x1234, df=True)
    frame = eth(0x0800, pkt)
    return 1, frame, expect(net4(ip_len=20 + len(seg), ttl=33, ident=0x1234, fflags=2), eth_type=0x0800,
                            src_port=40000, dst_port=443, tcp_flags=SYN | ACK | NS,
                            payload_offset=len(frame) - len(PAY))


def case_eth_all_tcp_flags():
    flags = FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | NS
    pkt, seg = v4_tcp(flags)
    frame = eth(0x0800, pkt)
    return 1, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, src_port=40000, dst_port=443,
                            tcp_flags=511, payload_offset=len(frame) - len(PAY))


def case_vlan_v4_udp():
    seg = udp(5353, 53, PAY)
    frame = eth(0x0800, ipv4(S4, D4, 17, seg), tags=[(0x8100, 42)])
    return 1, frame, expect(net4(proto=17, ip_len=28 + len(PAY)), vlan=42, eth_type=0x0800, src_port=5353,
                            dst_port=53, payload_offset=len(frame) - len(PAY))


def case_qinq_v6_tcp():
    seg = tcp(1, 2, ACK, PAY)
    frame = eth(0x86DD, ipv6(S6, D6, 6, seg, hop_limit=7), tags=[(0x88A8, 100, 3), (0x8100, 4095)])
    return 1, frame, expect(net6(ip_len=40 + len(seg), ttl=7), vlan=100, vlan_inner=4095, eth_type=0x86DD,
                            src_port=1, dst_port=2, tcp_flags=ACK, payload_offset=len(frame) - len(PAY))


def case_three_tags_9100():
    seg = udp(1000, 2000)
    frame = eth(0x0800, ipv4(S4, D4, 17, seg), tags=[(0x9100, 1), (0x8100, 2), (0x8100, 3)])
    return 1, frame, expect(net4(proto=17, ip_len=28), vlan=1, vlan_inner=2, eth_type=0x0800, src_port=1000,
                            dst_port=2000, payload_offset=len(frame))


def case_mpls_one_v4():
    seg = udp(4789, 4789, PAY)
    frame = eth(0x8847, mpls([1048575], ipv4(S4, D4, 17, seg, ttl=1)))
    return 1, frame, expect(net4(proto=17, ip_len=28 + len(PAY), ttl=1), mpls_label=1048575, eth_type=0x0800,
                            src_port=4789, dst_port=4789, payload_offset=len(frame) - len(PAY))


def case_mpls_stack_v6_icmp6():
    msg = icmp6(128, 0, b"\x00\x01\x00\x02ping", src=S6, dst=D6)
    frame = eth(0x8848, mpls([16, (17, 5, 3), 18], ipv6(S6, D6, 58, msg)))
    return 1, frame, expect(net6(proto=58, ip_len=40 + len(msg)), mpls_label=16, eth_type=0x86DD,
                            icmp_type=128, icmp_code=0)


def case_vlan_mpls_v4():
    frame = eth(0x8847, mpls([300, 301], ipv4(S4, D4, 1, icmp(8, 0, PAY, rest=0x00010001))), tags=[(0x8100, 9)])
    return 1, frame, expect(net4(proto=1, ip_len=28 + len(PAY)), vlan=9, mpls_label=300, eth_type=0x0800,
                            icmp_type=8, icmp_code=0)


def case_mpls_pseudowire():
    # control word (first nibble 0) then an Ethernet frame: not decoded past the labels
    frame = eth(0x8847, mpls([77], b"\x00\x00\x00\x00" + eth(0x0800, ipv4(S4, D4, 6, tcp(1, 2, SYN)))))
    return 1, frame, expect(mpls_label=77, eth_type=0x8847)


def case_pppoe_v4_tcp():
    pkt, seg = v4_tcp(PSH | ACK)
    frame = eth(0x8864, pppoe(pkt))
    return 1, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, src_port=40000, dst_port=443,
                            tcp_flags=PSH | ACK, payload_offset=len(frame) - len(PAY))


def case_vlan_pppoe_v6_udp():
    seg = udp(546, 547, PAY)
    frame = eth(0x8864, pppoe(ipv6(S6, D6, 17, seg), v6=True, session=0xBEEF), tags=[(0x8100, 10)])
    return 1, frame, expect(net6(proto=17, ip_len=40 + len(seg)), vlan=10, eth_type=0x86DD, src_port=546,
                            dst_port=547, payload_offset=len(frame) - len(PAY))


def case_pppoe_compressed_protocol():
    seg = udp(68, 67, PAY)
    frame = eth(0x8864, pppoe(ipv4(S4, D4, 17, seg), compressed=True))
    return 1, frame, expect(net4(proto=17, ip_len=28 + len(PAY)), eth_type=0x0800, src_port=68, dst_port=67,
                            payload_offset=len(frame) - len(PAY))


def case_pppoe_lcp():
    frame = eth(0x8864, pppoe(b"\x01\x01\x00\x04", ppp_proto=0xC021))
    return 1, frame, expect(eth_type=0x8864)


def case_pppoe_discovery():
    frame = eth(0x8863, b"\x11\x09\x00\x00\x00\x00")
    return 1, frame, expect(eth_type=0x8863)


def case_arp():
    frame = pad60(eth(0x0806, bytes(28)))
    return 1, frame, expect(eth_type=0x0806)


def case_llc_8023():
    frame = pad60(eth(0x0026, b"\x42\x42\x03" + bytes(35)))
    return 1, frame, expect()


def case_vlan_llc():
    frame = pad60(eth(0x0026, b"\x42\x42\x03" + bytes(35), tags=[(0x8100, 5)]))
    return 1, frame, expect(vlan=5)


def case_eth_padding():
    seg = udp(7, 9)
    frame = pad60(eth(0x0800, ipv4(S4, D4, 17, seg)))
    return 1, frame, expect(net4(proto=17, ip_len=28), eth_type=0x0800, src_port=7, dst_port=9,
                            payload_offset=14 + 28)


def case_sll_v4_tcp():
    pkt, seg = v4_tcp(RST)
    frame = sll(0x0800, pkt)
    return 113, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, src_port=40000, dst_port=443,
                              tcp_flags=RST, payload_offset=len(frame) - len(PAY))


def case_sll_vlan():
    seg = udp(1, 2)
    frame = sll(0x8100, b"\x00\x07\x08\x00" + ipv4(S4, D4, 17, seg))
    return 113, frame, expect(net4(proto=17, ip_len=28), vlan=7, eth_type=0x0800, src_port=1, dst_port=2,
                              payload_offset=len(frame))


def case_sll_arp():
    return 113, sll(0x0806, bytes(28)), expect(eth_type=0x0806)


def case_sll2_v6_udp():
    seg = udp(123, 123, PAY)
    frame = sll2(0x86DD, ipv6(S6, D6, 17, seg))
    return 276, frame, expect(net6(proto=17, ip_len=40 + len(seg)), eth_type=0x86DD, src_port=123,
                              dst_port=123, payload_offset=len(frame) - len(PAY))


def _raw(linktype, v6):
    if v6:
        seg = tcp(22, 50000, ACK, PAY)
        frame = ipv6(S6, D6, 6, seg)
        return linktype, frame, expect(net6(ip_len=40 + len(seg)), eth_type=0x86DD, src_port=22,
                                       dst_port=50000, tcp_flags=ACK, payload_offset=len(frame) - len(PAY))
    seg = udp(53, 1053, PAY)
    frame = ipv4(S4, D4, 17, seg)
    return linktype, frame, expect(net4(proto=17, ip_len=28 + len(PAY)), eth_type=0x0800, src_port=53,
                                   dst_port=1053, payload_offset=len(frame) - len(PAY))


def _null(linktype, family, big_endian, v6):
    _, inner, exp = _raw(101, v6)
    frame = null_loop(family, inner, big_endian=big_endian)
    exp = dict(exp, payload_offset=exp["payload_offset"] + 4)
    return linktype, frame, exp


def case_nflog_v4_tcp():
    seg = tcp(49762, 80, SYN, PAY)
    frame = nflog(ipv4(S4, D4, 6, seg), after=((11, bytes(4)),))  # a TLV after the payload (uid)
    return 239, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, src_port=49762, dst_port=80,
                              tcp_flags=SYN, payload_offset=frame.rindex(PAY))


def case_nflog_v6_udp_big_endian_tlvs():
    seg = udp(5353, 5353, PAY)
    frame = nflog(ipv6(S6, D6, 17, seg), family=10, big_endian=True)
    return 239, frame, expect(net6(proto=17, ip_len=48 + len(PAY)), eth_type=0x86DD, src_port=5353,
                              dst_port=5353, payload_offset=frame.rindex(PAY))


def case_nflog_no_payload_tlv():
    return 239, nflog(None), expect()


def case_nflog_unknown_family():
    return 239, nflog(ipv4(S4, D4, 6, tcp(1, 2, SYN)), family=7), expect()


def case_radiotap_qos_data_v4_udp():
    seg = udp(61738, 53, PAY)
    frame = radiotap(dot11(snap(0x0800, ipv4(S4, D4, 17, seg))), length=48)
    return 127, frame, expect(net4(proto=17, ip_len=28 + len(PAY)), eth_type=0x0800, src_port=61738, dst_port=53,
                              payload_offset=frame.rindex(PAY))


def case_radiotap_data_v6_tcp_four_addresses_htc():
    seg = tcp(443, 50000, ACK, PAY)
    frame = radiotap(dot11(snap(0x86DD, ipv6(S6, D6, 6, seg)), to_ds=True, from_ds=True, htc=True))
    return 127, frame, expect(net6(ip_len=60 + len(PAY)), eth_type=0x86DD, src_port=443, dst_port=50000,
                              tcp_flags=ACK, payload_offset=frame.rindex(PAY))


def case_ppi_qos_data_v4_tcp():
    seg = tcp(1234, 80, SYN, PAY)
    frame = ppi(dot11(snap(0x0800, ipv4(S4, D4, 6, seg))), length=32)
    return 192, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, src_port=1234, dst_port=80, tcp_flags=SYN,
                              payload_offset=frame.rindex(PAY))


def case_ppi_ethernet_not_decoded():  # PPI before another link type: only 802.11 is read behind it
    return 192, ppi(eth(0x0800, ipv4(S4, D4, 6, tcp(1, 2, SYN))), dlt=1), expect()


def case_dot11_plain_data_v4():
    seg = udp(5353, 5353, PAY)
    frame = dot11(snap(0x0800, ipv4(S4, D4, 17, seg)), qos=False, to_ds=True, from_ds=False)
    return 105, frame, expect(net4(proto=17, ip_len=28 + len(PAY)), eth_type=0x0800, src_port=5353,
                              dst_port=5353, payload_offset=frame.rindex(PAY))


def case_dot11_protected_data():  # encrypted: nothing to read
    return 105, dot11(bytes(40), protected=True), expect()


def case_dot11_amsdu():
    return 105, dot11(snap(0x0800, ipv4(S4, D4, 17, udp(1, 2))), amsdu=True), expect()


def case_dot11_beacon():  # a management frame
    return 127, radiotap(dot11(bytes(40), kind=0, subtype=8, from_ds=False)), expect()


def case_dot11_null_function():  # a data frame without data
    return 105, dot11(b"", subtype=0xC), expect()


def case_chdlc_v4_tcp():
    seg = tcp(1234, 80, SYN, PAY)
    frame = chdlc(0x0800, ipv4(S4, D4, 6, seg))
    return 104, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, src_port=1234, dst_port=80, tcp_flags=SYN,
                              payload_offset=frame.rindex(PAY))


def case_chdlc_mpls_v6_udp():
    seg = udp(53, 5353, PAY)
    frame = chdlc(0x8847, mpls([100], ipv6(S6, D6, 17, seg)), address=0x8F)
    return 104, frame, expect(net6(proto=17, ip_len=48 + len(PAY)), eth_type=0x86DD, mpls_label=100, src_port=53,
                              dst_port=5353, payload_offset=frame.rindex(PAY))


def case_chdlc_slarp():  # 0x8035 is SLARP on Cisco HDLC, not RARP
    return 104, chdlc(0x8035, bytes(20)), expect()


def case_erf_ethernet_v4_tcp_with_extensions():
    seg = tcp(1234, 80, SYN, PAY)
    frame = erf(2, eth(0x0800, ipv4(S4, D4, 6, seg), tags=[(0x8100, 10)]), extensions=2)
    return 197, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, vlan=10, src_port=1234, dst_port=80,
                              tcp_flags=SYN, payload_offset=frame.rindex(PAY))


def case_erf_pos_ppp_v6_udp():
    seg = udp(53, 5353, PAY)
    frame = erf(1, b"\xff\x03\x00\x57" + ipv6(S6, D6, 17, seg))
    return 197, frame, expect(net6(proto=17, ip_len=48 + len(PAY)), eth_type=0x86DD, src_port=53, dst_port=5353,
                              payload_offset=frame.rindex(PAY))


def case_erf_pos_chdlc_mpls_v4():
    seg = udp(1, 2, PAY)
    frame = erf(15, chdlc(0x8847, mpls([77], ipv4(S4, D4, 17, seg))))
    return 197, frame, expect(net4(proto=17, ip_len=28 + len(PAY)), eth_type=0x0800, mpls_label=77, src_port=1,
                              dst_port=2, payload_offset=frame.rindex(PAY))


def case_erf_raw_ipv4():
    seg = tcp(5, 6, ACK, PAY)
    frame = erf(22, ipv4(S4, D4, 6, seg))
    return 197, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, src_port=5, dst_port=6, tcp_flags=ACK,
                              payload_offset=frame.rindex(PAY))


def case_erf_atm_not_decoded():
    return 197, erf(3, bytes(52)), expect()


def case_pflog_v4_tcp():
    seg = tcp(1234, 80, SYN, PAY)
    frame = pflog(ipv4(S4, D4, 6, seg))
    return 117, frame, expect(net4(ip_len=20 + len(seg)), eth_type=0x0800, src_port=1234, dst_port=80, tcp_flags=SYN,
                              payload_offset=frame.rindex(PAY))


def case_pflog_v6_udp_freebsd_family():
    seg = udp(53, 5353, PAY)
    frame = pflog(ipv6(S6, D6, 17, seg), 28, length=45)  # a shorter (older) header: 45, padded to 48
    return 117, frame, expect(net6(proto=17, ip_len=48 + len(PAY)), eth_type=0x86DD, src_port=53, dst_port=5353,
                              payload_offset=frame.rindex(PAY))


def case_pflog_unknown_family():
    return 117, pflog(ipv4(S4, D4, 6, tcp(1, 2, SYN)), 7), expect()


def case_null_unknown_family():
    return 0, null_loop(7, ipv4(S4, D4, 6, tcp(1, 2, SYN))), expect()


def case_unknown_linktype():
    return 147, eth(0x0800, ipv4(S4, D4, 6, tcp(1, 2, SYN))), expect()


def case_v4_options():
    seg = tcp(80, 8080, FIN | ACK, PAY)
    frame = eth(0x0800, ipv4(S4, D4, 6, seg, options=b"\x07\x07\x04" + bytes(8)))  # record route, 12 bytes
    return 1, frame, expect(net4(ip_len=32 + len(seg)), eth_type=0x0800, src_port=80, dst_port=8080,
                            tcp_flags=FIN | ACK, payload_offset=len(frame) - len(PAY))


def case_v4_first_fragment():
    seg = udp(500, 4500, PAY)
    frame = eth(0x0800, ipv4(S4, D4, 17, seg, ident=777, mf=True))
    return 1, frame, expect(net4(proto=17, ip_len=28 + len(PAY), ident=777, fflags=1), eth_type=0x0800,
                            src_port=500, dst_port=4500, payload_offset=len(frame) - len(PAY))


def case_v4_later_fragment():
    frame = eth(0x0800, ipv4(S4, D4, 6, tcp(1, 2, SYN), ident=778, frag_offset=1480, df=False, mf=True))
    return 1, frame, expect(net4(ip_len=40, ident=778, frag=1480, fflags=1), eth_type=0x0800)


def case_v4_last_fragment_icmp():
    frame = eth(0x0800, ipv4(S4, D4, 1, icmp(8, 0, PAY), ident=779, frag_offset=8 * 8191))
    return 1, frame, expect(net4(proto=1, ip_len=28 + len(PAY), ident=779, frag=65528), eth_type=0x0800)


def case_v6_ext_chain_tcp():
    seg = tcp(1, 2, SYN, PAY)
    ext = [(0, b"\x01\x02\x00\x00"), (43, b"\x00\x00" + bytes(20)), ext_frag(0, True, 0xDEADBEEF), (60, b""),
           ext_ah()]
    frame = eth(0x86DD, ipv6(S6, D6, 6, seg, ext=ext))
    chain = 8 + 24 + 8 + 8 + 24
    return 1, frame, expect(net6(ip_len=40 + chain + len(seg)), eth_type=0x86DD, ip_id=0xDEADBEEF, frag_offset=0,
                            frag_flags=1, src_port=1, dst_port=2, tcp_flags=SYN,
                            payload_offset=len(frame) - len(PAY))


def case_v6_later_fragment():
    ext = [(0, b""), ext_frag(1232, False, 5), (60, b"")]
    frame = eth(0x86DD, ipv6(S6, D6, 17, udp(1, 2, PAY), ext=ext))
    # the walk stops at a non-first fragment header: ip_proto is its next header (60), nothing after is read
    return 1, frame, expect(net6(proto=60, ip_len=len(frame) - 14), eth_type=0x86DD, ip_id=5, frag_offset=1232,
                            frag_flags=0)


def case_v6_two_fragment_headers():
    seg = udp(1, 2, PAY)
    frame = eth(0x86DD, ipv6(S6, D6, 17, seg, ext=[ext_frag(0, True, 1), (60, b""), ext_frag(0, False, 2)]))
    # the last fragment header read sets the fields
    return 1, frame, expect(net6(proto=17, ip_len=40 + 24 + len(seg)), eth_type=0x86DD, ip_id=2, frag_offset=0,
                            frag_flags=0, src_port=1, dst_port=2, payload_offset=len(frame) - len(PAY))


def case_v6_esp():
    esp = b"\x00\x00\x10\x01\x00\x00\x00\x01" + bytes(24)
    frame = eth(0x86DD, ipv6(S6, D6, 50, esp, ext=[(0, b"")]))
    return 1, frame, expect(net6(proto=50, ip_len=40 + 8 + len(esp)), eth_type=0x86DD)


def case_v6_ah_then_esp():
    esp = bytes(16)
    frame = eth(0x86DD, ipv6(S6, D6, 50, esp, ext=[ext_ah()]))
    return 1, frame, expect(net6(proto=50, ip_len=40 + 24 + len(esp)), eth_type=0x86DD)


def case_v6_no_next_header():
    frame = eth(0x86DD, ipv6(S6, D6, 59, b"", ext=[(60, b"")]))
    return 1, frame, expect(net6(proto=59, ip_len=48), eth_type=0x86DD)


def case_v4_sctp():
    seg = sctp(2905, 2905, sctp_chunk(0, b"data"))
    frame = eth(0x0800, ipv4(S4, D4, 132, seg))
    return 1, frame, expect(net4(proto=132, ip_len=20 + len(seg)), eth_type=0x0800, src_port=2905, dst_port=2905)


def case_v6_sctp():
    seg = sctp(38412, 38412)
    frame = eth(0x86DD, ipv6(S6, D6, 132, seg))
    return 1, frame, expect(net6(proto=132, ip_len=52), eth_type=0x86DD, src_port=38412, dst_port=38412)


def case_v4_udplite():
    seg = udp(9, 10, PAY, lite=True)
    frame = eth(0x0800, ipv4(S4, D4, 136, seg))
    return 1, frame, expect(net4(proto=136, ip_len=28 + len(PAY)), eth_type=0x0800, src_port=9, dst_port=10,
                            payload_offset=len(frame) - len(PAY))


def case_v4_gre():
    inner = ipv4("10.0.0.1", "10.0.0.2", 6, tcp(5, 6, SYN))
    seg = gre(0x0800, inner, key=99, checksum=True)
    frame = eth(0x0800, ipv4(S4, D4, 47, seg))
    return 1, frame, expect(net4(proto=47, ip_len=20 + len(seg)), eth_type=0x0800)


def case_v4_icmp():
    msg = icmp(3, 13, ipv4(D4, S4, 6, tcp(1, 2, SYN))[:28])
    frame = eth(0x0800, ipv4(S4, D4, 1, msg, ttl=255))
    return 1, frame, expect(net4(proto=1, ip_len=20 + len(msg), ttl=255), eth_type=0x0800, icmp_type=3,
                            icmp_code=13)


def case_v4_in_v6_icmp6():
    msg = icmp6(135, 0, bytes(20))
    frame = sll2(0x86DD, ipv6(S6, "ff02::1:ff00:20", 58, msg, hop_limit=255))
    return 276, frame, expect(net6(dst="ff02::1:ff00:20", proto=58, ip_len=40 + len(msg), ttl=255),
                              eth_type=0x86DD, icmp_type=135, icmp_code=0)


def case_v4_ipip():
    inner = ipv4("10.9.9.9", "10.8.8.8", 17, udp(1, 2))
    frame = eth(0x0800, ipv4(S4, D4, 4, inner))
    return 1, frame, expect(net4(proto=4, ip_len=20 + len(inner)), eth_type=0x0800)


CASES = {name[5:]: fn for name, fn in dict(globals()).items() if name.startswith("case_")}
for _lt in (101, 228, 229, 12, 14):
    CASES[f"raw{_lt}_v4"] = (lambda lt=_lt: _raw(lt, False))
    CASES[f"raw{_lt}_v6"] = (lambda lt=_lt: _raw(lt, True))
for _lt, _fam, _be, _v6 in [(0, 2, False, False), (0, 2, True, False), (108, 2, True, False), (0, 24, False, True),
                            (0, 28, True, True), (108, 30, True, True), (0, 30, False, True)]:
    CASES[f"null{_lt}_fam{_fam}_{'be' if _be else 'le'}"] = (lambda a=(_lt, _fam, _be, _v6): _null(*a))


@pytest.mark.parametrize("name", sorted(CASES))
def test_variant_decodes_to_what_was_built(name):
    linktype, frame, expected = CASES[name]()
    check(linktype, frame, expected)


@pytest.mark.parametrize("name", sorted(CASES))
def test_snap_cut_one_byte_short_is_not_malformed_full_length_one_byte_short_is(name):
    """Dropping the last byte is a snap cut (never malformed) when wirelen says more was on the wire."""
    linktype, frame, _ = CASES[name]()
    cut = frame[:-1]
    assert decode_packet(linktype, cut, len(frame))["malformed"] is False


def test_decode_records_matches_decode_packet_row_for_row():
    rows = [CASES[name]() for name in sorted(CASES)]
    rows.append((1, rows[0][1][:30], len(rows[0][1])))  # a snap cut, wirelen beyond caplen
    lts = [r[0] for r in rows]
    datas = [r[1] for r in rows]
    wires = [len(r[1]) if isinstance(r[2], dict) else r[2] for r in rows]
    batch = decode_records(np.array(lts), datas, np.array(wires))
    dtypes = dict(PACKET_FIELDS)
    for name in ALL_KEYS:
        assert batch[name].dtype == np.dtype(dtypes.get(name, "int64")), name
        rows = zip(lts, datas, wires, strict=True)
        assert batch[name].tolist() == [decode_packet(lt, d, w)[name] for lt, d, w in rows]
    assert batch["caplen"].tolist() == [len(d) for d in datas]
    assert batch["wirelen"].tolist() == wires


# ---------------------------------------------------------------------------------------------
# The malformed rule.


def test_ipv4_ihl_below_five_keeps_fixed_fields_and_stops():
    seg = tcp(1, 2, SYN)
    frame = eth(0x0800, ipv4(S4, D4, 6, seg, ihl=4))
    check(1, frame, expect(net4(ip_len=40), eth_type=0x0800, malformed=True))


def test_ipv4_total_length_below_header_length_is_malformed():
    seg = tcp(1, 2, SYN)
    frame = eth(0x0800, ipv4(S4, D4, 6, seg, total_length=0))  # TSO-style zero length
    check(1, frame, expect(net4(ip_len=0), eth_type=0x0800, malformed=True))


def test_ipv4_total_length_past_capture():
    seg = udp(1, 2, PAY)
    frame = eth(0x0800, ipv4(S4, D4, 17, seg, total_length=28 + len(PAY) + 100))
    base = expect(net4(proto=17, ip_len=128 + len(PAY)), eth_type=0x0800, src_port=1, dst_port=2,
                  payload_offset=len(frame) - len(PAY))
    check(1, frame, dict(base, malformed=True))  # caplen == wirelen: the header announced more than is there
    check(1, frame, base, wirelen=len(frame) + 100)  # a snap cut explains it


def test_ipv6_payload_length_past_capture():
    seg = udp(1, 2, PAY)
    frame = eth(0x86DD, ipv6(S6, D6, 17, seg, payload_length=500))
    base = expect(net6(proto=17, ip_len=540), eth_type=0x86DD, src_port=1, dst_port=2,
                  payload_offset=len(frame) - len(PAY))
    check(1, frame, dict(base, malformed=True))
    check(1, frame, base, wirelen=14 + 540)


def test_ipv6_payload_length_zero_announces_nothing():
    seg = udp(1, 2, PAY)
    frame = eth(0x86DD, ipv6(S6, D6, 17, seg, payload_length=0))
    check(1, frame, expect(net6(proto=17, ip_len=40), eth_type=0x86DD, src_port=1, dst_port=2,
                           payload_offset=len(frame) - len(PAY)))


def test_tcp_data_offset_below_five_keeps_ports_and_flags():
    frame = eth(0x0800, ipv4(S4, D4, 6, tcp(1, 2, SYN, data_offset=4)))
    check(1, frame, expect(net4(ip_len=40), eth_type=0x0800, src_port=1, dst_port=2, tcp_flags=SYN,
                           malformed=True))


def test_tcp_data_offset_past_capture():
    frame = eth(0x0800, ipv4(S4, D4, 6, tcp(1, 2, SYN, data_offset=15)))
    base = expect(net4(ip_len=40), eth_type=0x0800, src_port=1, dst_port=2, tcp_flags=SYN)
    check(1, frame, dict(base, malformed=True))
    check(1, frame, base, wirelen=len(frame) + 40)


def test_udp_length_below_eight_is_malformed_udplite_coverage_is_not():
    frame = eth(0x0800, ipv4(S4, D4, 17, udp(1, 2, PAY, length=7)))
    check(1, frame, expect(net4(proto=17, ip_len=28 + len(PAY)), eth_type=0x0800, src_port=1, dst_port=2,
                           payload_offset=len(frame) - len(PAY), malformed=True))
    frame = eth(0x0800, ipv4(S4, D4, 136, udp(1, 2, PAY, length=0, lite=True)))
    check(1, frame, expect(net4(proto=136, ip_len=28 + len(PAY)), eth_type=0x0800, src_port=1, dst_port=2,
                           payload_offset=len(frame) - len(PAY)))


@pytest.mark.parametrize("linktype,wrap,etype", [
    (1, lambda p: eth(0x0800, p), 0x0800),
    (1, lambda p: eth(0x86DD, p), 0x86DD),
    (113, lambda p: sll(0x0800, p), 0x0800),
    (0, lambda p: null_loop(2, p), 0x0800),
    (108, lambda p: null_loop(30, p, big_endian=True), 0x86DD),
])
def test_version_nibble_contradicting_the_link_is_malformed(linktype, wrap, etype):
    inner = ipv6(S6, D6, 6, tcp(1, 2, SYN)) if etype == 0x0800 else ipv4(S4, D4, 6, tcp(1, 2, SYN))
    check(linktype, wrap(inner), expect(eth_type=etype, malformed=True))


@pytest.mark.parametrize("linktype", [101, 228, 229, 12, 14])
def test_raw_ip_with_a_bad_version_nibble_is_malformed(linktype):
    frame = bytes([0x50]) + ipv4(S4, D4, 6, tcp(1, 2, SYN))[1:]
    check(linktype, frame, expect(malformed=True))


@pytest.mark.parametrize("linktype,size", [(1, 14), (113, 16), (276, 20), (0, 4), (108, 4), (101, 1)])
def test_link_header_cut(linktype, size):
    for k in range(size):
        data = bytes(range(1, k + 1))
        assert decode_packet(linktype, data, k)["malformed"] is True, k
        assert decode_packet(linktype, data, size + 10) == blank(), k


def test_empty_packet_of_an_undecoded_linktype_is_fine():
    assert decode_packet(147, b"", 0) == blank()


# ---------------------------------------------------------------------------------------------
# Cuts at every byte position: a field is set exactly when all its bytes are present.


def _v6_cut_subject():
    """VLAN + IPv6 + hop-by-hop + fragment(first, M) + dstopts + TCP with options + payload, with the byte
    offset where each field's bytes end (from the builders' documented layouts)."""
    seg = tcp(33333, 80, PSH | ACK | NS, PAY, options=b"\x02\x04\x05\xb4" + b"\x01" * 8)
    ext = [(0, b"\x05\x02\x00\x00"), ext_frag(0, True, 0x01020304), (60, b"\x01\x04" + bytes(12))]
    frame = eth(0x86DD, ipv6(S6, D6, 6, seg, hop_limit=9, ext=ext), tags=[(0x8100, 321)])
    p = 18                      # IPv6 header
    hbh, frag, dst = p + 40, p + 48, p + 56
    t = p + 72                  # TCP header (32 bytes with options)
    full = expect(net6(ip_len=40 + 32 + len(seg), ttl=9), vlan=321, eth_type=0x86DD, ip_id=0x01020304,
                  frag_offset=0, frag_flags=1, src_port=33333, dst_port=80, tcp_flags=PSH | ACK | NS,
                  payload_offset=t + 32)
    check(1, frame, full)
    ends = dict(vlan=16, eth_type=18, ip_version=p + 1, ip_len=p + 6, ttl=p + 8, src_hi=p + 24, src_lo=p + 24,
                dst_hi=p + 40, dst_lo=p + 40, frag_offset=frag + 4, frag_flags=frag + 4, ip_id=frag + 8,
                src_port=t + 2, dst_port=t + 4, tcp_flags=t + 14, payload_offset=t + 32)
    # ip_proto is the last next-header byte read: (position, value) along the chain
    chain = [(p + 6, 0), (hbh, 44), (frag, 60), (dst, 6)]
    return frame, full, ends, chain


def _v4_cut_subject():
    seg = tcp(4444, 5555, SYN, PAY, options=b"\x02\x04\x05\xb4")
    frame = eth(0x0800, ipv4(S4, D4, 6, seg, ttl=3, ident=0xABCD, df=True, options=b"\x01\x01\x01\x00"))
    p, t = 14, 14 + 24
    full = expect(net4(ip_len=24 + len(seg), ttl=3, ident=0xABCD, fflags=2), eth_type=0x0800, src_port=4444,
                  dst_port=5555, tcp_flags=SYN, payload_offset=t + 24)
    check(1, frame, full)
    ends = dict(eth_type=14, ip_version=p + 1, ip_len=p + 4, ip_id=p + 6, frag_offset=p + 8, frag_flags=p + 8,
                ttl=p + 9, ip_proto=p + 10, src_hi=p + 16, src_lo=p + 16, dst_hi=p + 20, dst_lo=p + 20,
                src_port=t + 2, dst_port=t + 4, tcp_flags=t + 14, payload_offset=t + 24)
    return frame, full, ends, []


@pytest.mark.parametrize("subject", [_v6_cut_subject, _v4_cut_subject])
def test_cut_at_every_byte(subject):
    frame, full, ends, chain = subject()
    for k in range(len(frame) + 1):
        want = blank()
        for name, end in ends.items():
            if k >= end:
                want[name] = full[name]
        for pos, value in chain:
            if k > pos:
                want["ip_proto"] = value
        # the network layer is reached only after the link header and tags
        got = decode_packet(1, frame[:k], len(frame))
        assert got == want, (k, {n: (got[n], want[n]) for n in want if got[n] != want[n]})
        # the same bytes with caplen == wirelen: every cut is damage, the whole frame is not
        got = decode_packet(1, frame[:k], k)
        assert got == dict(want, malformed=k < len(frame)), k


def test_cut_inside_tags_and_labels():
    frame = eth(0x8847, mpls([0xABCDE, 2], ipv4(S4, D4, 17, udp(1, 2))), tags=[(0x88A8, 11), (0x8100, 12)])
    # tag 1 TCI 14-16, tag 2 TCI 18-20, ethertype 20-22, label 1 bytes 22-25 (label in the first 3)
    for k, want in [(15, {}), (16, dict(vlan=11)), (19, dict(vlan=11)), (20, dict(vlan=11, vlan_inner=12)),
                    (22, dict(vlan=11, vlan_inner=12, eth_type=0x8847)),
                    (24, dict(vlan=11, vlan_inner=12, eth_type=0x8847)),
                    (25, dict(vlan=11, vlan_inner=12, eth_type=0x8847, mpls_label=0xABCDE)),
                    (30, dict(vlan=11, vlan_inner=12, eth_type=0x8847, mpls_label=0xABCDE)),
                    (31, dict(vlan=11, vlan_inner=12, eth_type=0x0800, mpls_label=0xABCDE, ip_version=4))]:
        assert decode_packet(1, frame[:k], len(frame)) == expect(want), k


def test_cut_inside_pppoe():
    frame = eth(0x8864, pppoe(ipv4(S4, D4, 17, udp(1, 2))))
    for k in range(14, 22):
        assert decode_packet(1, frame[:k], len(frame)) == expect(eth_type=0x8864), k
        assert decode_packet(1, frame[:k], k) == expect(eth_type=0x8864, malformed=True), k
    assert decode_packet(1, frame[:23], len(frame)) == expect(eth_type=0x0800, ip_version=4)


def test_nflog_tlv_shorter_than_its_head_is_malformed():
    frame = nflog(None, before=()) + b"\x02\x00\x09\x00" + ipv4(S4, D4, 6, tcp(1, 2, SYN))  # payload TLV, length 2
    assert decode_packet(239, frame, len(frame)) == expect(malformed=True)
    assert decode_packet(239, frame, len(frame) + 100) == expect(malformed=True)  # damage, whatever the snap length


def test_radiotap_header_shorter_than_8_is_malformed():
    frame = radiotap(dot11(snap(0x0800, ipv4(S4, D4, 17, udp(1, 2)))))
    bad = frame[:2] + b"\x06\x00" + frame[4:]
    assert decode_packet(127, bad, len(bad)) == expect(malformed=True)


def test_ppi_header_shorter_than_8_is_malformed():
    frame = ppi(dot11(snap(0x0800, ipv4(S4, D4, 17, udp(1, 2)))))
    bad = frame[:2] + b"\x04\x00" + frame[4:]
    assert decode_packet(192, bad, len(bad)) == expect(malformed=True)


def test_cut_inside_radiotap_and_dot11():
    frame = radiotap(dot11(snap(0x0800, ipv4(S4, D4, 17, udp(1, 2)))))  # radiotap 12, 802.11 26, SNAP 8
    start = 12 + 26 + 8
    for k in range(0, start):
        assert decode_packet(127, frame[:k], len(frame)) == expect(), k
        assert decode_packet(127, frame[:k], k) == expect(malformed=True), k
    assert decode_packet(127, frame[:start + 1], len(frame)) == expect(eth_type=0x0800, ip_version=4)


def test_pflog_header_length_under_45_is_malformed():
    frame = pflog(ipv4(S4, D4, 6, tcp(1, 2, SYN)), length=40)
    assert decode_packet(117, frame, len(frame)) == expect(malformed=True)


def test_cut_inside_pflog_header():
    frame = pflog(ipv4(S4, D4, 17, udp(1, 2)))
    for k in range(0, 64):
        assert decode_packet(117, frame[:k], len(frame)) == expect(), k
        assert decode_packet(117, frame[:k], k) == expect(malformed=True), k
    assert decode_packet(117, frame[:65], len(frame)) == expect(eth_type=0x0800, ip_version=4)


def test_cut_inside_nflog_tlvs():
    frame = nflog(ipv4(S4, D4, 17, udp(1, 2)))  # header 4, TLVs of 8, 8 (5 + 3 padding) and 8, payload TLV head 4
    start = 32
    assert frame[28:32] == nflog_tlv(9, bytes(28))[:4]
    for k in range(0, start):
        assert decode_packet(239, frame[:k], len(frame)) == expect(), k  # a snap-length cut: nothing invented
        # cut at a TLV boundary: whole TLVs, none a payload (nothing to decode); elsewhere a cut TLV (damage)
        assert decode_packet(239, frame[:k], k) == expect(malformed=k not in (4, 12, 20, 28)), k
    assert decode_packet(239, frame[:start + 1], len(frame)) == expect(eth_type=0x0800, ip_version=4)


# ---------------------------------------------------------------------------------------------
# Fuzz: never raises, and the output keeps its shape whatever the bytes.

LINKTYPES = [0, 1, 12, 14, 101, 104, 105, 108, 113, 117, 127, 192, 197, 228, 229, 239, 276]


def _assert_shape(out: dict, data: bytes) -> None:
    assert set(out) == set(ALL_KEYS)
    assert isinstance(out["malformed"], bool)
    for name in ALL_KEYS:
        if name != "malformed":
            assert isinstance(out[name], int) and out[name] >= -1, name
    assert out["payload_offset"] <= len(data)
    if out["ip_version"] == -1:
        assert out["src_lo"] == out["dst_lo"] == 0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LINKTYPES), st.binary(max_size=160), st.integers(0, 400))
def test_fuzz_random_bytes_never_raise(linktype, data, wirelen):
    _assert_shape(decode_packet(linktype, data, wirelen), data)


def _frames(skip: tuple[str, ...] = ()):
    return [(lt, frame) for name, fn in CASES.items() if name not in skip for lt, frame, _ in [fn()]]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_real_headers_never_raise(data):
    """Valid frames with a few bytes overwritten (lengths, next headers, nibbles), then cut anywhere."""
    linktype, frame = data.draw(st.sampled_from(_frames()))
    buf = bytearray(frame)
    for _ in range(data.draw(st.integers(1, 4))):
        buf[data.draw(st.integers(0, len(buf) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(buf)))
    out = decode_packet(linktype, bytes(buf[:cut]), data.draw(st.integers(0, 2 * len(buf))))
    _assert_shape(out, bytes(buf[:cut]))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_snap_cut_of_a_good_frame_keeps_or_drops_fields_never_invents(data):
    """Any snap cut of a well-formed frame: not malformed, and each field is the full value or absent
    (ip_proto/eth_type may show an intermediate value of the chain; a cut IPv6 chain has no fragment
    fields yet)."""
    # (a cut between two fragment headers shows the first one's values: left out here)
    linktype, frame = data.draw(st.sampled_from(_frames(skip=("v6_two_fragment_headers",))))
    full = decode_packet(linktype, frame, len(frame))
    cut = data.draw(st.integers(0, len(frame)))
    got = decode_packet(linktype, frame[:cut], len(frame))
    assert got["malformed"] is False
    for name in ALL_KEYS:
        if name in ("ip_proto", "eth_type", "malformed"):
            continue
        assert got[name] in (full[name], blank()[name]), name


# ---------------------------------------------------------------------------------------------- link layer

_SHA, _THA = "00:11:22:33:44:55", "66:77:88:99:aa:bb"
_ETH_DST, _ETH_SRC = "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01"


def _mac_int(text: str) -> int:
    return int(text.replace(":", ""), 16)


def _arp_body(op: int, hlen: int = 6, plen: int = 4) -> bytes:
    return (bytes.fromhex("00010800") + bytes([hlen, plen]) + op.to_bytes(2, "big")
            + bytes.fromhex(_SHA.replace(":", "")) + ipaddress.ip_address(S4).packed
            + bytes.fromhex(_THA.replace(":", "")) + ipaddress.ip_address(D4).packed)


def test_link_layer_fields_from_construction():
    """MACs and ARP fields equal what was built, and each is present exactly when its bytes are captured."""
    body = _arp_body(2)
    frame = eth(0x0806, body, dst=_ETH_DST, src=_ETH_SRC)
    full = _decode_packet(1, frame, len(frame))
    assert (full["dst_mac"], full["src_mac"]) == (_mac_int(_ETH_DST), _mac_int(_ETH_SRC))
    assert (full["arp_op"], full["arp_sha"], full["arp_tha"]) == (2, _mac_int(_SHA), _mac_int(_THA))
    assert (full["arp_spa"], full["arp_tpa"]) == (int(ipaddress.ip_address(S4)), int(ipaddress.ip_address(D4)))
    assert full["eth_type"] == 0x0806 and full["ip_version"] == -1 and full["malformed"] is False
    # the field ends (from the frame's first byte) that make each present
    ends = {"dst_mac": 6, "src_mac": 12, "arp_op": 22, "arp_sha": 28, "arp_spa": 32, "arp_tha": 38, "arp_tpa": 42}
    for cut in range(len(frame)):
        got = _decode_packet(1, frame[:cut], len(frame))
        assert {k: got[k] != -1 for k in ends} == {k: cut >= end for k, end in ends.items()}, cut
        assert got["malformed"] is False  # a snap-length cut is not damage
        assert _decode_packet(1, frame[:cut], cut)["malformed"] is True, cut  # cut short of what it announces
    # other address lengths: the opcode only
    odd = _decode_packet(1, eth(0x8035, _arp_body(4, hlen=8)), 100)
    assert odd["arp_op"] == 4 and odd["arp_sha"] == odd["arp_spa"] == -1
    # Linux cooked captures: the 6-byte link-layer source address, no destination
    for lt, frame in ((113, sll(0x0806, body, addr=bytes.fromhex("020000000007"))),
                      (276, sll2(0x0806, body, addr=bytes.fromhex("020000000007")))):
        got = _decode_packet(lt, frame, len(frame))
        assert (got["src_mac"], got["dst_mac"], got["arp_op"]) == (0x020000000007, -1, 2), lt
    assert _decode_packet(113, sll(0x0800, b"", addr=b"\x01\x02\x03\x04"), 16)["src_mac"] == -1  # 4-byte address
