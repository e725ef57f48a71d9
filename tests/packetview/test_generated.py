"""Generated packets of every kind the view decodes, whole entries equal to `TZ=UTC tcpdump -nn`'s (default,
-e, -v, -vv, -x, -X): no deviation allowed here, these are the protocols the view claims."""

from __future__ import annotations

import re
import struct

import pytest
from builders import (
    ACK,
    ETH_ARP,
    ETH_IPV4,
    ETH_IPV6,
    FIN,
    PSH,
    RST,
    SYN,
    TPID_8021AD,
    TPID_8021Q,
    URG,
    chdlc,
    dot11,
    erf,
    eth,
    ext_frag,
    icmp,
    icmp6,
    ipv4,
    ipv6,
    mac,
    nflog,
    pad60,
    pcap_file,
    pflog,
    ppi,
    snap,
    tcp,
    udp,
)
from view_helpers import tcpdump_lines

from forensics.packetview import PacketView, ViewOptions

pytestmark = pytest.mark.oracle

A, B, C = "10.0.0.1", "10.0.0.2", "192.168.7.9"
A6, B6 = "2001:db8::1", "fe80::2"
_OPTS = bytes.fromhex("020405b4") + b"\x04\x02" + b"\x08\x0a" + struct.pack("!II", 1000, 0) + b"\x01\x03\x03\x07"


def _name(text: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in text.split(".") if p) + b"\x00"


def _dns(ident: int, flags: int, qname: str, qtype: int, answers: list[tuple[int, bytes]] = (), ar: int = 0,
         extra: bytes = b"") -> bytes:
    head = struct.pack("!HHHHHH", ident, flags, 1, len(answers), 0, ar)
    body = _name(qname) + struct.pack("!HH", qtype, 1)
    for typ, rdata in answers:
        body += b"\xc0\x0c" + struct.pack("!HHIH", typ, 1, 300, len(rdata)) + rdata
    return head + body + extra


def _bootp(op: int, chaddr: str) -> bytes:
    return struct.pack("!BBBB", op, 1, 6, 0) + b"\x00" * 24 + mac(chaddr) + b"\x00" * 10 + b"\x00" * 192 + \
        bytes.fromhex("63825363") + b"\x35\x01\x01\xff" + b"\x00" * 48


def _arp(op: int, sha: str, spa: str, tha: str, tpa: str) -> bytes:
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + mac(sha) + bytes(map(int, spa.split("."))) + \
        mac(tha) + bytes(map(int, tpa.split(".")))


def _frames() -> list[bytes]:
    t = []
    e4 = lambda p, **kw: pad60(eth(ETH_IPV4, p, **kw))  # noqa: E731
    t.append(e4(ipv4(A, B, 6, tcp(40000, 443, SYN, seq=1000, options=_OPTS, src=A, dst=B), df=True, ident=7)))
    t.append(e4(ipv4(B, A, 6, tcp(443, 40000, SYN | ACK, seq=5000, ack=1001, options=_OPTS, src=B, dst=A))))
    t.append(e4(ipv4(A, B, 6, tcp(40000, 443, ACK, seq=1001, ack=5001, src=A, dst=B))))
    t.append(e4(ipv4(A, B, 6, tcp(40000, 443, PSH | ACK, b"x" * 100, seq=1001, ack=5001, src=A, dst=B))))
    sack = b"\x01\x01\x05\x0a" + struct.pack("!II", 1101, 1201)
    t.append(e4(ipv4(B, A, 6, tcp(443, 40000, ACK, seq=5001, ack=1101, options=sack, src=B, dst=A))))
    t.append(e4(ipv4(A, B, 6, tcp(40000, 443, FIN | ACK | URG, seq=1101, ack=5001, src=A, dst=B))))
    t.append(e4(ipv4(B, A, 6, tcp(443, 40000, RST, seq=5001, src=B, dst=A))))
    http = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
    t.append(e4(ipv4(A, C, 6, tcp(40001, 80, PSH | ACK, http, seq=1, ack=1, src=A, dst=C))))
    t.append(e4(ipv4(C, A, 6, tcp(80, 40001, PSH | ACK, b"HTTP/1.1 200 OK\r\n\r\n", seq=1, ack=1, src=C, dst=A))))
    t.append(e4(ipv4(A, C, 6, tcp(40002, 25, PSH | ACK, b"EHLO example.org\r\n", seq=9, ack=9, src=A, dst=C))))
    q = _dns(0x1234, 0x0100, "www.example.com", 1)
    t.append(e4(ipv4(A, C, 17, udp(53000, 53, q, src=A, dst=C))))
    r = _dns(0x1234, 0x8180, "www.example.com", 1, [(5, _name("web.example.net")), (1, bytes([93, 184, 216, 34])),
                                                     (28, bytes(15) + b"\x01"), (15, b"\x00\x0a\xc0\x0c"),
                                                     (16, b"\x05hello\x05world")])
    t.append(e4(ipv4(C, A, 17, udp(53, 53000, r, src=C, dst=A))))
    t.append(e4(ipv4(C, A, 17, udp(53, 53001, _dns(7, 0x8183, "nope.example", 28), src=C, dst=A))))
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0x8000, 0)
    t.append(e4(ipv4(A, C, 17, udp(53002, 53, _dns(8, 0x0120, "example.org", 33, ar=1, extra=opt), src=A, dst=C))))
    tcp_dns = struct.pack("!H", len(q)) + q
    t.append(e4(ipv4(A, C, 6, tcp(40003, 53, PSH | ACK, tcp_dns, seq=1, ack=1, src=A, dst=C))))
    t.append(e4(ipv4("0.0.0.0", "255.255.255.255", 17, udp(68, 67, _bootp(1, "00:11:22:33:44:55")))))
    t.append(e4(ipv4(C, A, 17, udp(67, 68, _bootp(2, "00:11:22:33:44:55")))))
    t.append(e4(ipv4(A, C, 17, udp(123, 123, b"\x23" + b"\x00" * 47))))
    t.append(e4(ipv4(C, A, 17, udp(123, 123, b"\x24" + b"\x00" * 47))))
    t.append(e4(ipv4(A, C, 17, udp(5000, 6000, b"z" * 30, src=A, dst=C))))
    t.append(e4(ipv4(A, B, 1, icmp(8, 0, b"p" * 56, rest=0x00010002))))
    t.append(e4(ipv4(B, A, 1, icmp(0, 0, b"p" * 56, rest=0x00010002))))
    inner = ipv4(A, C, 17, udp(5000, 53, b"q" * 8))
    t.append(e4(ipv4(C, A, 1, icmp(3, 3, inner[:28]))))
    t.append(e4(ipv4(C, A, 1, icmp(3, 4, inner[:28], rest=1400))))
    t.append(e4(ipv4(C, A, 1, icmp(11, 0, inner[:28]))))
    t.append(e4(ipv4(A, B, 44, b"\x11" * 96)))  # an IP protocol the view does not decode
    t.append(e4(ipv4(A, B, 17, udp(5000, 6000, b"f" * 40), mf=True, ident=99)))
    t.append(e4(ipv4(A, B, 17, b"g" * 40, frag_offset=48, ident=99)))
    t.append(pad60(eth(ETH_ARP, _arp(1, "02:00:00:00:00:01", A, "00:00:00:00:00:00", B), dst="ff:ff:ff:ff:ff:ff")))
    t.append(pad60(eth(ETH_ARP, _arp(2, "02:00:00:00:00:02", B, "02:00:00:00:00:01", A))))
    t.append(pad60(eth(ETH_ARP, _arp(1, "02:00:00:00:00:01", A, "02:00:00:00:00:09", B))))
    t.append(pad60(eth(ETH_IPV4, ipv4(A, B, 6, tcp(1, 2, SYN, src=A, dst=B)), tags=[(TPID_8021Q, 100, 3)])))
    t.append(pad60(eth(ETH_IPV4, ipv4(A, B, 17, udp(1, 2, b"v", src=A, dst=B)),
                       tags=[(TPID_8021AD, 200), (TPID_8021Q, 2001)])))
    e6 = lambda p: pad60(eth(ETH_IPV6, p))  # noqa: E731
    t.append(e6(ipv6(A6, B6, 58, icmp6(128, 0, struct.pack("!HH", 5, 6) + b"e" * 32, src=A6, dst=B6))))
    t.append(e6(ipv6(B6, A6, 58, icmp6(129, 0, struct.pack("!HH", 5, 6) + b"e" * 32, src=B6, dst=A6))))
    ns = b"\x00" * 4 + bytes.fromhex("fe800000000000000000000000000002") + bytes.fromhex("0101020000000001")
    t.append(e6(ipv6(A6, "ff02::1:ff00:2", 58, icmp6(135, 0, ns, src=A6, dst="ff02::1:ff00:2"), hop_limit=255)))
    na = b"\x60" + b"\x00" * 3 + bytes.fromhex("fe800000000000000000000000000002")
    t.append(e6(ipv6(B6, A6, 58, icmp6(136, 0, na, src=B6, dst=A6), hop_limit=255)))
    t.append(e6(ipv6(B6, "ff02::2", 58, icmp6(133, 0, b"\x00" * 4, src=B6, dst="ff02::2"), hop_limit=255)))
    t.append(e6(ipv6(A6, B6, 6, tcp(50000, 22, SYN, seq=77, options=_OPTS, src=A6, dst=B6))))
    t.append(e6(ipv6(A6, B6, 17, udp(546, 547, b"\x01\x00\x00\x01", src=A6, dst=B6))))
    t.append(e6(ipv6(A6, B6, 17, udp(5000, 5001, b"h" * 20, src=A6, dst=B6), ext=[(0, b"\x01\x04\x00\x00\x00\x00")])))
    t.append(e6(ipv6(A6, B6, 17, udp(5000, 5001, b"i" * 20), ext=[ext_frag(0, True, 5)])))
    t.append(e6(ipv6(A6, B6, 17, b"j" * 24, ext=[ext_frag(32, False, 5)])))
    t.append(e6(ipv6(A6, B6, 253, b"k" * 12)))
    return t


def _before_app(entry: str) -> str:
    return re.split(r" (?=BOOTP/DHCP|dhcp6 )", entry)[0]


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    frames = _frames()
    path = tmp_path_factory.mktemp("view") / "generated.pcap"
    path.write_bytes(pcap_file([(1700000000 + i * 0.25, f) for i, f in enumerate(frames)]))
    return path, frames


def _view_entries(frames: list[bytes], linktype: int, options: ViewOptions, dump: tuple[str, bool] | None,
                  ) -> list[str]:
    """The view's entries for frames 0.25 s apart from 1700000000 (the times the test captures are written with)."""
    view = PacketView(options)
    out = []
    for i, frame in enumerate(frames):
        text = view.line((1700000000 * 4 + i) * 250_000_000, linktype, frame, len(frame))
        if dump:
            text = "\n".join([text, *view.dump(linktype, frame, dump[0], link=dump[1])])
        out.append(text)
    return out


@pytest.mark.parametrize(("flags", "options", "dump"), [
    ((), ViewOptions(), None),
    (("-e",), ViewOptions(link_header=True), None),
    (("-v",), ViewOptions(verbose=1), None),
    (("-vv",), ViewOptions(verbose=2), None),
    (("-x",), ViewOptions(), ("x", False)),
    (("-X",), ViewOptions(), ("X", False)),
    (("-e", "-XX"), ViewOptions(link_header=True), ("X", True)),
])
def test_generated_packets_equal_tcpdump(capture, flags, options, dump):
    path, frames = capture
    theirs = tcpdump_lines(path, *flags, count=len(frames))
    ours = _view_entries(frames, 1, options, dump)
    assert len(ours) == len(theirs)
    if options.verbose:  # tcpdump -v's BOOTP and DHCPv6 options are not ours (docs/filters.md); NTP's are
        ours, theirs = [_before_app(o) for o in ours], [_before_app(t) for t in theirs]
    bad = [(o, t) for o, t in zip(ours, theirs, strict=True) if o != t]
    assert not bad, "\n".join(f"ours: {o}\ntcpd: {t}" for o, t in bad[:6])


def _link_frames(linktype: int) -> list[bytes]:
    """Packets behind the link layers tcpdump prints whole: NFLOG (239), pflog (117), Cisco HDLC (104)."""
    packets = [ipv4(A, B, 6, tcp(40000, 443, SYN, seq=1000, options=_OPTS, src=A, dst=B), df=True, ident=7),
               ipv4(B, A, 17, udp(53, 40002, _dns(7, 0x8180, "example.com", 1, [(1, bytes([93, 184, 216, 34]))]),
                                  src=B, dst=A)),
               ipv6(A6, B6, 6, tcp(50000, 22, SYN, seq=77, options=_OPTS, src=A6, dst=B6))]
    if linktype == 239:
        return [nflog(p, 10 if p[0] >> 4 == 6 else 2) for p in packets]
    if linktype == 104:
        return [chdlc(0x86DD if p[0] >> 4 == 6 else 0x0800, p, address=0x0F if i % 2 else 0x8F)
                for i, p in enumerate(packets)]
    return [pflog(packets[0]), pflog(packets[1], action=1, reason=1, direction=2, ifname=b"vio0"),
            pflog(packets[2], 24, rulenr=12, subrulenr=7, ruleset=b"anchor1"),
            pflog(packets[0], 2, action=99, reason=40)]


@pytest.mark.parametrize("linktype", [239, 117, 104])
@pytest.mark.parametrize(("flags", "options", "dump"), [
    ((), ViewOptions(), None),
    (("-e",), ViewOptions(link_header=True), None),
    (("-v",), ViewOptions(verbose=1), None),
    (("-X",), ViewOptions(), ("X", False)),
])
def test_nflog_pflog_chdlc_packets_equal_tcpdump(tmp_path, linktype, flags, options, dump):
    frames = _link_frames(linktype)
    path = tmp_path / "link.pcap"
    path.write_bytes(pcap_file([(1700000000 + i * 0.25, f) for i, f in enumerate(frames)], linktype=linktype))
    theirs = tcpdump_lines(path, *flags, count=len(frames))
    ours = _view_entries(frames, linktype, options, dump)
    bad = [(o, t) for o, t in zip(ours, theirs, strict=True) if o != t]
    assert not bad, "\n".join(f"ours: {o}\ntcpd: {t}" for o, t in bad[:6])


@pytest.mark.parametrize(("flags", "options", "dump"), [
    ((), ViewOptions(), None),
    (("-v",), ViewOptions(verbose=1), None),
])
def test_ppi_802_11_packets_equal_tcpdump(tmp_path, flags, options, dump):
    """802.11 data frames behind PPI: the packet as tcpdump prints it (with -e tcpdump prints the PPI and 802.11
    headers first, which the view does not; with -x/-X tcpdump 4.99 dumps 6 bytes of a PPI frame, the view the IP
    packet: docs/filters.md)."""
    packets = [ipv4(A, B, 6, tcp(40000, 443, SYN, seq=1000, options=_OPTS, src=A, dst=B), df=True, ident=7),
               ipv6(A6, B6, 6, tcp(50000, 22, SYN, seq=77, options=_OPTS, src=A6, dst=B6))]
    frames = [ppi(dot11(snap(0x86DD if p[0] >> 4 == 6 else 0x0800, p), qos=i % 2 == 0), length=8 + 12 * i)
              for i, p in enumerate(packets)]
    path = tmp_path / "ppi.pcap"
    path.write_bytes(pcap_file([(1700000000 + i * 0.25, f) for i, f in enumerate(frames)], linktype=192))
    assert _view_entries(frames, 192, options, dump) == tcpdump_lines(path, *flags, count=len(frames))


def test_erf_packets_print_as_tcpdump_prints_them_behind_ethernet(tmp_path):
    """tcpdump 4.99 prints `UNSUPPORTED` for ERF records; the view prints the packet inside as tcpdump prints the
    same packet behind Ethernet."""
    packets = [ipv4(A, B, 6, tcp(40000, 443, SYN, seq=1000, options=_OPTS, src=A, dst=B), df=True, ident=7),
               ipv4(B, A, 17, udp(53, 40002, _dns(7, 0x8180, "example.com", 1, [(1, bytes([93, 184, 216, 34]))]),
                                  src=B, dst=A)),
               ipv6(A6, B6, 6, tcp(50000, 22, SYN, seq=77, options=_OPTS, src=A6, dst=B6))]
    kinds = [(2, lambda et, p: eth(et, p)), (1, lambda et, p: (b"\xff\x03\x00\x57" if et == ETH_IPV6
                                                           else b"\xff\x03\x00\x21") + p),
             (19, lambda et, p: chdlc(et, p)), (22, lambda et, p: p)]
    path = tmp_path / "eth.pcap"
    path.write_bytes(pcap_file([(1700000000 + i * 0.25, eth(ETH_IPV6 if p[0] >> 4 == 6 else ETH_IPV4, p))
                                for i, p in enumerate(packets)]))
    theirs = tcpdump_lines(path, count=len(packets))
    for kind, wrap in kinds:
        records = []
        for i, p in enumerate(packets):
            et = ETH_IPV6 if p[0] >> 4 == 6 else ETH_IPV4
            records.append(erf(23 if kind == 22 and et == ETH_IPV6 else kind, wrap(et, p), extensions=i % 2))
        assert _view_entries(records, 197, ViewOptions(), None) == theirs, kind
