"""IPv4 and IPv6 as tcpdump prints them: 'IP a.p > b.q: ...', -v's header fields, IPv6 extension headers."""

from __future__ import annotations

import struct

from forensics.packetview.cksum import inet_sum
from forensics.packetview.icmp import icmp_print
from forensics.packetview.icmp6 import icmp6_print
from forensics.packetview.igmp import igmp_print
from forensics.packetview.state import ViewState
from forensics.packetview.tcp import tcp_print
from forensics.packetview.text import ip4, ip6, u16, u32
from forensics.packetview.udp import udp_print

PROTO_NAMES = {0: "Options", 1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 8: "EGP", 9: "IGRP", 17: "UDP",
               41: "IPv6", 43: "Routing", 44: "Fragment", 46: "RSVP", 47: "GRE", 50: "ESP", 51: "AH", 58: "ICMPv6",
               59: "none", 60: "DSTOPTS", 88: "EIGRP", 89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP",
               136: "UDPLite"}
_SELF_ADDRESSED = (6, 17, 33, 132)  # TCP, UDP, DCCP, SCTP print their own addresses and ports


_TRUNC_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6", 4: "ip", 41: "ip6", 2: "igmp", 47: "gre", 50: "esp",
                51: "ah"}


def _transport(st: ViewState, nh: int, data: bytes, length: int, src: bytes, dst: bytes, direct: bool,
               fragmented: bool) -> str:
    """The protocol after an IP header; a field past the captured bytes gives tcpdump's ' [|proto]' mark."""
    try:
        return _demux(st, nh, data, length, src, dst, direct, fragmented)
    except (IndexError, ValueError, struct.error):
        return f"[|{_TRUNC_NAMES.get(nh, 'ip')}]"


def _demux(st: ViewState, nh: int, data: bytes, length: int, src: bytes, dst: bytes, direct: bool,
           fragmented: bool) -> str:
    if nh == 6:
        return tcp_print(st, data, length, src, dst, direct, fragmented)
    if nh == 17:
        return udp_print(st, data, length, src, dst, direct, fragmented)
    if nh == 1:
        return icmp_print(data, length, st)
    if nh == 58:
        return icmp6_print(st, data, length, src, dst)
    if nh == 4:
        return ip4_print(st, data, length)
    if nh == 41:
        return ip6_print(st, data, length)
    if nh == 2:
        return igmp_print(data, length)
    if nh == 47:
        from forensics.packetview.tunnels import gre_print

        return gre_print(st, data, length)
    if nh == 51:
        text, step = _ah(data)
        if step is None:
            return text
        return text + _transport(st, data[0], data[step:], length - step, src, dst, False, fragmented)
    if nh == 50:
        if len(data) < 8:
            return "ESP [|esp]"
        return f"ESP(spi=0x{u32(data, 0):08x},seq=0x{u32(data, 4):x}), length {length}"
    # tcpdump prints this with a space of its own after the addresses' "a > b: "
    return f" ip-proto-{nh} {length}"


def ip4_print(st: ViewState, data: bytes, length: int) -> str:
    """An IPv4 packet; `length`: the bytes the link layer says follow (padding included)."""
    out = "" if st.eflag else "IP "
    if len(data) < 20:
        return out + "[|ip]"
    version, hl = data[0] >> 4, (data[0] & 15) * 4
    if version != 4:
        return out + f"IP{version} "  # tcpdump: bad version
    tot = u16(data, 2)
    if hl < 20:
        return out + f"[bad hdr length {hl} - too short, < 20]"
    if length < tot:
        out += f"truncated-ip - {tot - length} bytes missing! "
    data = data[:max(tot, hl)]  # tcpdump reads nothing past the datagram (link padding is not IP's)
    off = u16(data, 6)
    proto = data[9]
    src, dst = data[12:16], data[16:20]
    if st.vflag:
        tos = data[1]
        ecn = ["", ",ECT(1)", ",ECT(0)", ",CE"][tos & 3]
        flags = ", ".join(n for b, n in ((0x8000, "rsvd"), (0x4000, "DF"), (0x2000, "+")) if off & b) or "none"
        out += f"(tos 0x{tos:x}{ecn}" + (f", ttl {data[8]}" if data[8] else "") + \
            f", id {u16(data, 4)}, offset {(off & 0x1FFF) * 8}, flags [{flags}], " \
            f"proto {PROTO_NAMES.get(proto, 'unknown')} ({proto}), length {tot}"
        if hl > 20:
            out += ", options (...)"
        if len(data) >= hl:
            total = inet_sum(data[:hl])
            if total != 0xFFFF:
                should = ~inet_sum(data[:10] + b"\x00\x00" + data[12:hl]) & 0xFFFF
                out += f", bad cksum {u16(data, 10):x} (->{should:x})!"
        out += ")\n    "
    payload = data[hl:]
    plen = tot - hl
    fragmented = bool(off & 0x3FFF)
    if off & 0x1FFF == 0:
        if proto not in _SELF_ADDRESSED:
            out += f"{ip4(src)} > {ip4(dst)}: "
        out += _transport(st, proto, payload, plen, src, dst, True, fragmented)
    else:
        out += f"{ip4(src)} > {ip4(dst)}: ip-proto-{proto}"
    return out


def ip6_print(st: ViewState, data: bytes, length: int) -> str:
    """An IPv6 packet with its extension headers."""
    out = "" if st.eflag else "IP6 "
    if len(data) < 40:
        return out + "[|ip6]"
    if data[0] >> 4 != 6:
        return out + f"version error: {data[0] >> 4} != 6"
    plen = u16(data, 4)
    nh = data[6]
    src, dst = data[8:24], data[24:40]
    if st.vflag:
        flow = u32(data, 0)
        out += "("
        if flow & 0x0FF00000:
            out += f"class 0x{(flow & 0x0FF00000) >> 20:02x}, "
        if flow & 0x000FFFFF:
            out += f"flowlabel 0x{flow & 0x000FFFFF:05x}, "
        out += f"hlim {data[7]}, next-header {PROTO_NAMES.get(nh, 'unknown')} ({nh}) payload length: {plen}) "
    total = plen + 40
    if length < total:
        out += f"truncated-ip6 - {total - length} bytes missing!"
    if plen:
        data = data[:total]
    cp = 40
    fragmented = False
    while True:
        if cp == 40 and nh not in _SELF_ADDRESSED:
            out += f"{ip6(src)} > {ip6(dst)}: "
        rest = data[cp:]
        left = total - cp
        if nh in (0, 60):
            if len(rest) < 2:
                return out + ("HBH" if nh == 0 else "DSTOPT") + " [|ip6]"
            out += "HBH " if nh == 0 else "DSTOPT "
            if st.vflag:
                out += _options6(rest[2:(rest[1] + 1) * 8])
            nh, cp = rest[0], cp + (rest[1] + 1) * 8
        elif nh == 43:
            if len(rest) < 4:
                return out + "RT6 [|rt6]"
            text, step = _routing(rest)
            out += text
            nh, cp = rest[0], cp + step
        elif nh == 44:
            if len(rest) < 8:
                return out + "frag [|frag6]"
            foff = u16(rest, 2) & 0xFFF8
            flen = total - cp - 8
            fragmented = True
            ident = f"0x{u32(rest, 4):08x}:" if st.vflag else ""
            if foff:
                return out + f"frag ({ident}{foff}|{flen})"
            out += f"frag ({ident}{foff}|{flen}) "
            nh, cp = rest[0], cp + 8
        elif nh == 51:
            text, step = _ah(rest)
            out += text
            if step is None:
                return out
            nh, cp = rest[0], cp + step
        elif nh == 59:
            return out + "no next header"
        else:
            return out + _transport(st, nh, rest, left, src, dst, cp == 40, fragmented)


def _options6(opts: bytes) -> str:
    """-v's hop-by-hop and destination options: '(rtalert: 0x0000) (padn) '."""
    out, i = "", 0
    while i < len(opts):
        typ = opts[i]
        if typ == 0:
            out += "(pad1)"
            i += 1
            continue
        if i + 1 >= len(opts):
            break
        size = opts[i + 1]
        body = opts[i + 2:i + 2 + size]
        if len(body) < size:
            return out + "[trunc] "
        if typ == 1:
            out += "(padn)"
        elif typ == 5 and size == 2:
            out += f"(rtalert: 0x{u16(body, 0):04x}) "
        elif typ == 0xC2 and size == 4:
            out += f"(jumbo: {u32(body, 0)}) "
        else:
            out += f"(opt_type 0x{typ:02x}: len={size})"
        i += 2 + size
    return out + (" " if out and not out.endswith(" ") else "")


def _ah(rest: bytes) -> tuple[str, int | None]:
    """('AH(spi=..,seq=..,icv=0x..): ', header length) or the truncation text and None."""
    if len(rest) < 12:
        return "AH [|ah]", None
    step = (rest[1] + 2) * 4
    text = f"AH(spi=0x{u32(rest, 4):08x},seq=0x{u32(rest, 8):x}"
    if len(rest) < step:
        return text + "[truncated]):", None
    return text + f",icv=0x{rest[12:step].hex()}): ", step


def _routing(rest: bytes) -> tuple[str, int]:
    hlen, typ, segleft = rest[1], rest[2], rest[3]
    text = f"RT6 (len={hlen}, type={typ}" + (" [Deprecated]" if typ == 0 else "") + f", segleft={segleft}"
    if typ in (0, 2):
        if u32(rest, 4):
            text += f", rsv=0x{u32(rest, 4):x}"
        n = hlen // 2
        for i in range(n):
            a = rest[8 + 16 * i:24 + 16 * i]
            if len(a) < 16:
                break
            text += f", [{i}]{ip6(a)}"
    elif typ == 4 and len(rest) >= 8:
        last = rest[4]
        text += f", last-entry={last}" + (f", flags=0x{rest[5]:x}" if rest[5] else "") + f", tag={u16(rest, 6):x}"
        for i in range(last + 1):
            a = rest[8 + 16 * i:24 + 16 * i]
            if len(a) < 16:
                break
            text += f", [{i}]{ip6(a)}"
    return text + ") ", (hlen + 1) * 8
