"""Link layers as tcpdump prints them (-e shows the header): Ethernet with 802.1Q/QinQ tags, Linux SLL/SLL2,
BSD null/loopback, raw IP, Cisco HDLC, NFLOG, pflog, ERF, 802.11 data frames (their radio fields not printed).
Returns the text and the link header's length (where -x/-X/-A start)."""

from __future__ import annotations

import socket

from forensics.packetview.arp import arp_print
from forensics.packetview.igmp import mpls_labels
from forensics.packetview.ip import ip4_print, ip6_print
from forensics.packetview.llc import llc_print
from forensics.packetview.state import ViewState
from forensics.packetview.text import mac, u16, u32
from forensics.readers.exact import PKTAP_MIN_LENGTH, PKTAP_PACKET, decode_packet

ETHERTYPES = {0x0800: "IPv4", 0x0806: "ARP", 0x86DD: "IPv6", 0x8100: "802.1Q", 0x88A8: "802.1Q-QinQ",
              0x9100: "802.1Q-9100", 0x8035: "Reverse ARP", 0x8847: "MPLS unicast", 0x8848: "MPLS multicast",
              0x8863: "PPPoE D", 0x8864: "PPPoE S", 0x88CC: "LLDP", 0x888E: "EAPOL", 0x9000: "Loopback",
              0x88E5: "MACsec", 0x8137: "IPX", 0x809B: "Appletalk", 0x88F7: "PTP", 0x8809: "Slow Protocols",
              0x893A: "IEEE1905.1", 0x88B5: "Local experimental"}
_VLAN_TYPES = (0x8100, 0x88A8, 0x9100)
_SLL_TYPES = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}
_AF = {2: "IPv4", 24: "IPv6", 28: "IPv6", 30: "IPv6", 7: "OSI", 23: "IPX", 16: "Appletalk"}
LINKTYPE_ETHERNET, LINKTYPE_SLL, LINKTYPE_SLL2, LINKTYPE_NFLOG = 1, 113, 276, 239
LINKTYPE_DOT11, LINKTYPE_RADIOTAP, LINKTYPE_PPI, LINKTYPE_ERF = 105, 127, 192, 197
LINKTYPE_PFLOG, LINKTYPE_CHDLC = 117, 104
LINKTYPE_PRISM, LINKTYPE_AVS, LINKTYPE_PKTAP = 119, 163, 258
# pf's reasons, actions and directions as tcpdump 4.99 names them (print-pflog.c)
_PF_REASONS = ["match", "bad-offset", "fragment", "short", "normalize", "memory", "bad-timestamp", "congestion",
               "ip-option", "proto-cksum", "state-mismatch", "state-insert", "state-limit", "src-limit", "synproxy"]
_PF_ACTIONS = {0: "pass", 1: "block", 2: "scrub", 3: "nat", 4: "nat", 5: "binat", 6: "binat", 7: "rdr", 8: "rdr",
               9: "synproxy-drop", 10: "defer", 11: "match", 12: "divert", 13: "rt", 14: "afrt"}
_PF_DIRECTIONS = {0: "in/out", 1: "in", 2: "out", 3: "fwd"}
_NFLOG_FAMILIES = {2: ("IPv4", 0x0800), 10: ("IPv6", 0x86DD)}


def _etype(et: int) -> str:
    return f"ethertype {ETHERTYPES.get(et, 'Unknown')} (0x{et:04x})"


def _network(st: ViewState, et: int, data: bytes, length: int) -> str | None:
    """The network layer's text by ethertype; None when tcpdump's decoder is not ours."""
    if et == 0x0800:
        return ip4_print(st, data, length)
    if et == 0x86DD:
        return ip6_print(st, data, length)
    if et in (0x0806, 0x8035):
        return arp_print(st, data, length)
    if et in (0x8863, 0x8864):
        from forensics.packetview.tunnels import pppoe_print

        return pppoe_print(st, data, length)
    if et in (0x8847, 0x8848):
        labels, step = mpls_labels(data, st.vflag)
        inner = data[step:]
        if step == 0 or not inner or labels.endswith("]"):
            return labels
        version = inner[0] >> 4
        sub = _network(st, 0x0800 if version == 4 else 0x86DD if version == 6 else -1, inner, length - step)
        return labels + (("\n\t" if st.vflag else " ") + sub if sub is not None else "")
    return None


def link_print(st: ViewState, linktype: int, data: bytes, wirelen: int) -> tuple[str, int]:
    """(text after the time stamp, link header length) for one frame."""
    if linktype == LINKTYPE_ETHERNET:
        return _ether(st, data, wirelen)
    if linktype == LINKTYPE_SLL:
        if len(data) < 16:
            return "[|sll]", len(data)
        pkt, halen, et = u16(data, 0), u16(data, 4), u16(data, 14)
        head = f"{_SLL_TYPES.get(pkt, '?'):>3} " + (mac(data[6:12]) + " " if halen == 6 else "") + \
            f"{_etype(et)}, length {wirelen}: "
        return _after(st, head, et, data, 16, wirelen - 16), 16
    if linktype == LINKTYPE_SLL2:
        if len(data) < 20:
            return "[|sll2]", len(data)
        et, ifindex, pkt, halen = u16(data, 0), u32(data, 4), data[10], data[11]
        lead = _ifname(ifindex) + f"{_SLL_TYPES.get(pkt, '?'):<3} "
        head = lead + f"ifindex {ifindex} " + (mac(data[12:18]) + " " if halen == 6 else "") + \
            f"{_etype(et)}, length {wirelen}: "
        text = _after(st, head, et, data, 20, wirelen - 20)
        return (text if st.eflag else lead + text), 20
    if linktype == LINKTYPE_NFLOG:
        return _nflog(st, data, wirelen)
    if linktype in (LINKTYPE_DOT11, LINKTYPE_RADIOTAP, LINKTYPE_PPI, LINKTYPE_PRISM, LINKTYPE_AVS):
        return _dot11(st, linktype, data, wirelen)
    if linktype == LINKTYPE_PKTAP:
        return _pktap(st, data, wirelen)
    if linktype == LINKTYPE_ERF:
        return _erf(st, data, wirelen)
    if linktype == LINKTYPE_PFLOG:
        return _pflog(st, data, wirelen)
    if linktype == LINKTYPE_CHDLC:
        if len(data) < 4:
            return "[|chdlc]", len(data)
        et = u16(data, 2)
        cast = {0x0F: "unicast", 0x8F: "bcast"}.get(data[0], f"0x{data[0]:02x}")
        head = f"{cast}, {_etype(et)}, length {wirelen}: "
        if et == 0x8035:  # SLARP, not RARP
            return head + "[SLARP is not decoded]", 4
        return _after(st, head, et, data, 4, wirelen - 4), 4
    if linktype in (0, 108):
        if len(data) < 4:
            return "[|null]", len(data)
        fam = u32(data, 0) if linktype == 108 else int.from_bytes(data[:4], "little")
        if fam & 0xFFFF0000:
            fam = int.from_bytes(fam.to_bytes(4, "little"), "big")
        head = f"AF {_AF.get(fam, 'Unknown')} ({fam}), length {wirelen}: "
        et = 0x0800 if fam == 2 else 0x86DD if fam in (24, 28, 30) else -1
        return _after(st, head, et, data, 4, wirelen - 4), 4
    if linktype in (12, 14, 101, 228, 229):
        version = data[0] >> 4 if data else 0
        et = 0x0800 if version == 4 else 0x86DD if version == 6 else -1
        text = _network(st, et, data, wirelen) if et > 0 else f"ip v{version}"
        return ("ip: " if st.eflag and linktype not in (228, 229) else "") + (text or ""), 0
    return f"[link type {linktype} is not decoded] length {wirelen}", 0


def _nflog(st: ViewState, data: bytes, wirelen: int) -> tuple[str, int]:
    """NFLOG as tcpdump prints it: with -e the header (version, resource id, family), then the packet of the
    payload TLV (found as the decoder finds it: forensics.readers.exact)."""
    if len(data) < 4:
        return "[|nflog]", len(data)
    family, version, resource = data[0], data[1], u16(data, 2)
    name, et = _NFLOG_FAMILIES.get(family, ("unknown", -1))
    head = f"version {version}, resource ID {resource}, family {name} ({family}), length {wirelen}: "
    off = int(decode_packet(LINKTYPE_NFLOG, data, wirelen, layers=True)["net_offset"])
    if off < 0:
        return head + ("[not decoded]" if et < 0 else "[no payload captured]"), len(data)
    return _after(st, head, et, data, off, wirelen - off), off


def _dot11(st: ViewState, linktype: int, data: bytes, wirelen: int) -> tuple[str, int]:
    """An 802.11 data frame's packet (behind radiotap, PPI or nothing), without the radio fields and addresses
    tcpdump prints before it (docs/filters.md); other frames (management, control, encrypted) are named only."""
    decoded = decode_packet(linktype, data, wirelen, layers=True)
    off, et = int(decoded["net_offset"]), int(decoded["eth_type"])
    if off < 0 or et not in (0x0800, 0x86DD, 0x0806, 0x8035):
        return f"[802.11 frame is not decoded] length {wirelen}", len(data)
    return _after(st, f"802.11 data, {_etype(et)}, length {wirelen}: ", et, data, off, wirelen - off), off


def _pktap(st: ViewState, data: bytes, wirelen: int) -> tuple[str, int]:
    """Apple's PKTAP: the frame after the header, printed by its own link type (as tcpdump does); the header's
    interface name first with -e."""
    if len(data) < 12:
        return "[|pktap]", len(data)
    length, kind, inner = (int.from_bytes(data[i:i + 4], "little") for i in (0, 4, 8))
    if length < PKTAP_MIN_LENGTH or len(data) < length:
        return f"[|pktap] length {wirelen}", len(data)
    if kind != PKTAP_PACKET or inner == LINKTYPE_PKTAP:
        return f"[pktap record type {kind}, DLT {inner} is not decoded] length {wirelen}", length
    text, used = link_print(st, inner, data[length:], wirelen - length)
    if st.eflag:
        name = data[12:36].split(b"\0", 1)[0].decode("ascii", "replace")
        text = f"({name}) {text}"
    return text, length + used


def _erf(st: ViewState, data: bytes, wirelen: int) -> tuple[str, int]:
    """An ERF record's packet (tcpdump 4.99 prints `UNSUPPORTED` for ERF): with -e, the record type and the
    packet's ethertype first."""
    if len(data) < 16:
        return "[|erf]", len(data)
    decoded = decode_packet(LINKTYPE_ERF, data, wirelen, layers=True)
    off, et = int(decoded["net_offset"]), int(decoded["eth_type"])
    if off < 0 or et not in (0x0800, 0x86DD, 0x0806, 0x8035):
        return f"[ERF record type {data[8] & 0x7F} is not decoded] length {wirelen}", len(data)
    return _after(st, f"ERF type {data[8] & 0x7F}, {_etype(et)}, length {wirelen}: ", et, data, off,
                  wirelen - off), off


def _pflog(st: ViewState, data: bytes, wirelen: int) -> tuple[str, int]:
    """pf's log as tcpdump prints it: with -e the rule, reason, action, direction and interface."""
    if len(data) < 61 or data[0] < 45:
        return "[|pflog]", len(data)
    off = (data[0] + 3) & ~3
    reason, action, direction = data[3], data[2], data[60]
    ifname = data[4:20].split(b"\0", 1)[0].decode("ascii", "replace")
    ruleset = data[20:36].split(b"\0", 1)[0].decode("ascii", "replace")
    rulenr, subrulenr = u32(data, 36), u32(data, 40)
    rule = f"rule {rulenr}/" if subrulenr == 0xFFFFFFFF else f"rule {rulenr}.{ruleset}.{subrulenr}/"
    why = f"{reason}({_PF_REASONS[reason]})" if reason < len(_PF_REASONS) else f"unkn({reason})"
    head = (f"{rule}{why}: {_PF_ACTIONS.get(action, f'unkn({action})')} "
            f"{_PF_DIRECTIONS.get(direction, f'unkn({direction})')} on {ifname}: ")
    family = data[1]
    et = 0x0800 if family == 2 else 0x86DD if family in (24, 28, 30) else -1
    return _after(st, head, et, data, off, wirelen - off), off


def _ifname(ifindex: int) -> str:
    """The name of interface `ifindex` on this machine, as tcpdump prints it for SLL2 (its if_indextoname)."""
    try:
        return f"{socket.if_indextoname(ifindex):<5} "
    except OSError:
        return "?     "


def _after(st: ViewState, head: str, et: int, data: bytes, off: int, length: int) -> str:
    text = _network(st, et, data[off:], length) if et >= 0 else None
    if text is None:
        return head + f"[{_etype(et) if et >= 0 else 'this family'} is not decoded]" if st.eflag else \
            head + "[not decoded]"
    return (head if st.eflag else "") + text


def _llc_frame(st: ViewState, data: bytes, off: int, llc_len: int, addrs: str) -> str:
    """An 802.3/LLC frame: what tcpdump prints for spanning tree and SNAP-with-ethertype; else named."""
    text = None if st.eflag else llc_print(st, data[off:], llc_len)
    return addrs + f"802.3, length {llc_len}: [LLC is not decoded]" if text is None else text


def _ether(st: ViewState, data: bytes, wirelen: int) -> tuple[str, int]:
    if len(data) < 14:
        return "[|ether]", len(data)
    dst, src, et = data[0:6], data[6:12], u16(data, 12)
    addrs = f"{mac(src)} > {mac(dst)}, "
    if et <= 1500:
        return _llc_frame(st, data, 14, et, addrs), 14
    head = addrs + f"{_etype(et)}, length {wirelen}: "
    off, length = 14, wirelen - 14
    while et in _VLAN_TYPES:
        if len(data) < off + 4:
            return head + "[|vlan]", off
        tci, inner = u16(data, off), u16(data, off + 2)
        head += f"vlan {tci & 0xFFF}, p {tci >> 13}" + (", DEI" if tci & 0x1000 else "") + f", {_etype(inner)}, "
        off, length, et = off + 4, length - 4, inner
    if et <= 1500:  # an 802.3 frame inside tags (Cisco PVST)
        text = None if st.eflag else llc_print(st, data[off:], et)
        return (head + "[LLC is not decoded]" if text is None else text), off
    text = _network(st, et, data[off:], length)
    if text is None:
        # tcpdump decodes MPLS, PPPoE, LLDP ... itself; we name the ethertype and stop (docs/filters.md).
        if not st.eflag:
            head = addrs + f"{_etype(et)}, length {wirelen}: "
        return head + "[not decoded]", off
    return (head if st.eflag else "") + text, off
