"""UDP as tcpdump prints it: addresses and ports, then DNS, BOOTP/DHCP, DHCPv6, NTP or 'UDP, length N'."""

from __future__ import annotations

from forensics.packetview.appudp import bootp_print, dhcp6_print, ntp_print
from forensics.packetview.cksum import transport_ok
from forensics.packetview.dns import domain_print
from forensics.packetview.state import ViewState
from forensics.packetview.text import ip4, ip6, u16


def udp_print(st: ViewState, seg: bytes, length: int, src: bytes, dst: bytes, direct: bool,
              fragmented: bool = False) -> str:
    """The text for a UDP datagram of `length` bytes on the wire (seg: the captured bytes from its header)."""
    atext = ip4 if len(src) == 4 else ip6
    if len(seg) < 8:
        if len(seg) >= 4:
            sport, dport = u16(seg, 0), u16(seg, 2)
            return _addrs(atext, src, dst, sport, dport, direct) + "[|udp]"
        return "[|udp]"
    sport, dport, ulen = u16(seg, 0), u16(seg, 2), u16(seg, 4)
    head = _addrs(atext, src, dst, sport, dport, direct)
    if ulen < 8:
        return head + f"truncated-udplength {ulen}"
    ulen -= 8
    length -= 8
    if ulen < length:
        length = ulen
    payload = seg[8:]
    out = head
    if st.vflag and not fragmented:
        out += _checksum_note(st, seg, src, dst, length)
    ports = (sport, dport)
    if 53 in ports:
        return out + domain_print(payload, length, verbose=st.vflag)
    if 5353 in ports:
        return out + domain_print(payload, length, mdns=True, verbose=st.vflag)
    if 67 in ports or 68 in ports:
        return out + bootp_print(payload, length)
    if 123 in ports:
        return out + ntp_print(payload, length, st.vflag)
    if 4789 in ports:
        from forensics.packetview.tunnels import vxlan_print

        return out + vxlan_print(st, payload, length)
    if 6081 in ports:
        from forensics.packetview.tunnels import geneve_print

        return out + geneve_print(st, payload, length)
    if 500 in ports or 4500 in ports:
        from forensics.packetview.appudp import isakmp_print, nat_t_print

        text = (nat_t_print if 4500 in ports else isakmp_print)(payload, length)
        if text is not None:
            return out + text
    if 6343 in ports:
        from forensics.packetview.tunnels import sflow_print

        return out + sflow_print(payload, length)
    if 546 in ports or 547 in ports:
        return out + dhcp6_print(payload, length)
    if ulen > length and not fragmented:
        return out + f"UDP, bad length {ulen} > {length}"
    return out + f"UDP, length {ulen}"


def _checksum_note(st: ViewState, seg: bytes, src: bytes, dst: bytes, length: int) -> str:
    """'[udp sum ok] ', '[bad udp cksum 0x.. -> 0x..!] ' or '[no cksum] ' (IPv4 at -vv, IPv6 at -v)."""
    if len(src) == 4:
        if st.vflag < 2:
            return ""
        if u16(seg, 6) == 0:
            return "[no cksum] "
    if len(seg) < length + 8:
        return ""
    ok, should = transport_ok(src, dst, 17, seg[:length + 8])
    return "[udp sum ok] " if ok else f"[bad udp cksum 0x{u16(seg, 6):04x} -> 0x{should:04x}!] "


def _addrs(atext: object, src: bytes, dst: bytes, sport: int, dport: int, direct: bool) -> str:
    if direct:
        return f"{atext(src)}.{sport} > {atext(dst)}.{dport}: "
    return f"{sport} > {dport}: "
