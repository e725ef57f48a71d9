"""The exact packet decoder: one packet at a time, in plain Python, the reference for the fast path.

`decode_packet(linktype, data, wirelen)` returns every field of `forensics.records.DECODED_FIELDS`
plus `payload_offset`, following the decoding semantics of the `forensics.records` docstring. The
compiled decoder (`forensics.readers.fastdecode`) must give the same values for the same bytes.

Every header field is read with an explicit bounds check, so a cut anywhere keeps the fields whose
bytes are present. (dpkt's header classes raise `NeedData` for a partial header and tolerate what is
past the end, so they cannot say which fields of a cut header are there; the tests use dpkt and
tshark as independent oracles for complete packets instead.) The decoder never raises.

Points the records docstring leaves open, decided here (the fast decoder must match them):

- A field is set when all its bytes are present: a VLAN id needs the 2-byte TCI of its tag, an MPLS
  label the first 3 bytes of its entry, an IPv6 extension header's next-header byte is read on its
  own (so for a cut chain `ip_proto` is the next-header byte of the header that was cut, when that
  byte is present), IPv4 `ip_id` needs bytes 4-5 and `frag_offset`/`frag_flags` bytes 6-7.
- `eth_type` is the last ethertype read on the way in: 0x8864 for PPPoE whose PPP protocol is not
  IPv4/IPv6 (or is cut), 0x8847/0x8848 for MPLS whose payload nibble is not 4/6 (or is cut);
  0x0800/0x86dd once IP is reached. An ethertype < 0x0600 (after any tags) leaves it absent. A tag
  that is cut leaves it absent. The same ethertype chain (tags, PPPoE, MPLS, IP) follows the
  protocol field of Linux SLL and SLL2.
- PPPoE: the PPP protocol field may be compressed to one byte (RFC 1661 protocol field
  compression: the first byte is odd), so 0x21 and 0x57 name IPv4/IPv6 too.
- Raw IP link types (12, 14, 101, 228, 229): the version nibble decides; a nibble other than 4 or 6
  is malformed. Null/loopback (0, 108): the family is read little-endian and byte-swapped when the
  value is over 0xFFFF; other families are not decoded and not malformed.
- NFLOG (239): the TLVs' length and type are in the byte order of the capturing host; the first TLV's
  type decides it (below 256 read little-endian: little-endian). The TLVs are walked to the payload TLV
  (type 9), whose end bounds the network layer. Whole TLVs without a payload TLV: nothing decoded, not
  malformed; a TLV cut by the captured end is short; a TLV length under 4 is malformed; a family other
  than 2 (IPv4) or 10 (IPv6) is not decoded and not malformed. No MAC is read (the hardware-address TLV
  is left alone).
- IEEE 802.11 (105), radiotap (127, its little-endian header length at byte 2; under 8 is malformed)
  and PPI (192: the same length, then the frame's link type; only 802.11 frames are decoded behind it):
  data frames of protocol version 0 that carry data, are not protected and are not A-MSDUs continue with
  LLC/SNAP (then the ethertype chain); other frames are not decoded and not malformed. No MAC is read
  (802.11's addresses are not Ethernet's source and destination).
- Prism (119: msglen at byte 4 in the writer's byte order, little-endian unless over 0xFFFF) and AVS (163,
  or 119 whose first word is 0x8021100N: the big-endian length at byte 4) headers before 802.11, decoded as
  behind radiotap; a header length under 8 is malformed.
- Apple PKTAP (258): pth_length, pth_type_next and pth_dlt little-endian at bytes 0, 4, 8; a length under 108
  is malformed (as Wireshark has it); a packet record (type_next 1) of DLT Ethernet, loopback or raw IP is
  decoded as that link type from the end of the header; other records and DLTs are not decoded.
- ERF (197): after the 16-byte record header and its extension headers, Ethernet types (2, 11, 16, 20)
  skip 2 bytes and read as Ethernet (MACs too); HDLC types (1, 10, 15, 19) read PPP (first byte 0xff) or
  Cisco HDLC; 22 and 23 are raw IPv4 and IPv6; other types are not decoded and not malformed.
- Cisco HDLC (104): a 4-byte header (address, control, ethertype), then the ethertype chain; 0x8035 is
  SLARP there, not RARP, and is not decoded.
- pflog (117): the header's length byte (at least 45, else malformed), padded to a multiple of 4, is where
  the packet starts; its family byte is a BSD address family (2 IPv4; 24, 28, 30 IPv6), others not
  decoded and not malformed.
- IPv4 with an impossible IHL (< 5) or total length (< IHL * 4): malformed; the fixed-header fields
  present are kept (ip_len, ip_id, fragment fields, ttl, ip_proto, addresses) and nothing after
  the header is decoded. The total-length check is made whenever the total length is present.
- IPv6: `frag_offset`, `frag_flags` and `ip_id` are set by a fragment header only (absent for an
  unfragmented IPv6 packet). A non-first fragment stops the walk at its fragment header: `ip_proto`
  is that header's next header and nothing after it is read. Several fragment headers (a first
  fragment's chain may hold another): the last one read sets the fields. The walk has no depth
  limit other than the captured bytes. A payload length of 0 (jumbogram, TSO) announces nothing.
- "Short" (cut) checks compare with the captured end only: a header is read from the captured bytes
  even past the IP length (the IP length only counts when it points past the captured end).
  Minimum sizes: TCP data offset * 4 (20..60), UDP and UDP-Lite 8, SCTP 12, ICMP/ICMPv6 4
  (type, code, checksum). ICMP type/code are read for protocol 1 and 58 in either IP version.
- `payload_offset` is set for TCP (after the options), UDP and UDP-Lite (after 8 bytes) when the
  whole transport header is present and the data offset is possible, else -1.
- A malformed UDP length (< 8, UDP only; UDP-Lite's field is a checksum coverage) or TCP data offset
  (< 5) keeps the ports; a bad TCP data offset leaves `payload_offset` at -1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from forensics.records import DECODED_FIELDS, PACKET_FIELDS

V4_MAPPED_LO = 0xFFFF << 32

VLAN_TPIDS = (0x8100, 0x88A8, 0x9100)
MPLS_TYPES = (0x8847, 0x8848)
ETH_IPV4, ETH_IPV6, ETH_PPPOE_SESSION = 0x0800, 0x86DD, 0x8864
RAW_IP_LINKTYPES = (12, 14, 101, 228, 229)
NULL_LINKTYPES = (0, 108)
NULL_IPV6_FAMILIES = (24, 28, 30)
IPV6_OPTION_HEADERS = (0, 43, 60)  # hop-by-hop, routing, destination options: (len + 1) * 8 bytes

_ADDRESS_FIELDS = ("src_hi", "src_lo", "dst_hi", "dst_lo")
_BLANK: dict[str, int | bool] = {
    name: (False if name == "malformed" else 0 if name in _ADDRESS_FIELDS else -1) for name in DECODED_FIELDS
}
_BLANK["payload_offset"] = -1
_BLANK["net_offset"] = -1  # not stored: where the network layer (IP, ARP) starts, for byte-offset filters
_BLANK["transport_offset"] = -1  # not stored: where the transport header starts (first fragments only)

ETH_ARP, ETH_RARP = 0x0806, 0x8035
NFLOG_LINKTYPE = 239  # Linux netfilter log (tcpdump -i nflog)
NFLOG_FAMILIES = {2: ETH_IPV4, 10: ETH_IPV6}  # AF_INET, AF_INET6
NFLOG_PAYLOAD = 9  # NFULA_PAYLOAD: the packet from its network header
DOT11_LINKTYPE, RADIOTAP_LINKTYPE = 105, 127  # IEEE 802.11 frames, and behind a radiotap header
PFLOG_LINKTYPE = 117  # OpenBSD/FreeBSD pf's log (pflog0)
CHDLC_LINKTYPE = 104  # Cisco HDLC: address, control, then an ethertype
PPI_LINKTYPE = 192  # Per-Packet Information header (older wireless captures), before a frame of its own link type
ERF_LINKTYPE = 197  # Endace ERF records (DAG cards)
# 802.11 behind a Prism II monitor-mode header (its length, msglen, at byte 4 in the capturing host's byte order)
# or an AVS header (0x8021100N, then its big-endian length); a Prism capture may hold AVS headers (Wireshark and
# tcpdump tell them by that magic number)
PRISM_LINKTYPE, AVS_LINKTYPE = 119, 163
AVS_MAGIC, AVS_MAGIC_MASK = 0x80211000, 0xFFFFFFF0
PKTAP_LINKTYPE = 258  # Apple's PKTAP (macOS `tcpdump -i pktap` / `-k`): a header, then a frame of its own DLT
PKTAP_MIN_LENGTH = 108  # Wireshark's MIN_PKTAP_HDR_LEN: a shorter pth_length is malformed
PKTAP_PACKET = 1  # pth_type_next: a packet follows
# the inner link types decoded behind PKTAP (Ethernet, loopback, raw IP), as the compiled decoder decodes them
PKTAP_INNER = (1, 0, 108, 12, 14, 101, 228, 229)
ERF_ETHERNET = (2, 11, 16, 20)  # ETH, COLOR_ETH, DSM_COLOR_ETH, COLOR_HASH_ETH: 2 bytes (offset, pad), then Ethernet
ERF_HDLC = (1, 10, 15, 19)  # HDLC_POS, COLOR_HDLC_POS, DSM_COLOR_HDLC_POS, COLOR_HASH_POS: PPP or Cisco HDLC
ERF_IPV4, ERF_IPV6 = 22, 23
PFLOG_MIN_LENGTH = 45  # tcpdump's MIN_PFLOG_HDRLEN: the shortest header length a pflog record may give
PPP_LINKTYPES = (9, 50)  # PPP, PPP in HDLC-like framing
# PPP protocol -> ethertype (RFC 1661 numbers): IPv4, IPv6, MPLS unicast and multicast.
PPP_PROTOCOLS = {0x0021: ETH_IPV4, 0x0057: ETH_IPV6, 0x0281: 0x8847, 0x0283: 0x8848}


def _mac(data: bytes, i: int) -> int:
    return int.from_bytes(data[i:i + 6], "big")


def _u16(data: bytes, i: int) -> int:
    return (data[i] << 8) | data[i + 1]


def _u32(data: bytes, i: int) -> int:
    return int.from_bytes(data[i:i + 4], "big")


def decode_packet(linktype: int, data: bytes, wirelen: int, layers: bool = False) -> dict[str, int | bool]:
    """Decode one packet's bytes: every DECODED_FIELDS name plus `payload_offset` (and, with `layers`,
    `net_offset` and `transport_offset`: where the network and transport headers start, -1 when absent).

    Integers are -1 when absent (addresses 0); `malformed` is a bool. Never raises.
    """
    out = dict(_BLANK)
    data = bytes(data)
    complete = _link(linktype, data, len(data), out)
    if not complete and len(data) >= wirelen:
        out["malformed"] = True
    if not layers:
        del out["net_offset"], out["transport_offset"]
    return out


def _link(linktype: int, data: bytes, end: int, out: dict) -> bool:
    """Link layer; returns False when a header needs bytes past the captured end."""
    if linktype == 1:
        if end >= 6:
            out["dst_mac"] = _mac(data, 0)
        if end >= 12:
            out["src_mac"] = _mac(data, 6)
        return end >= 14 and _ethertype(data, 14, end, _u16(data, 12), out, True)
    if linktype == 113:
        if end >= 12 and _u16(data, 4) == 6:  # link-layer address length 6: a MAC
            out["src_mac"] = _mac(data, 6)
        return end >= 16 and _ethertype(data, 16, end, _u16(data, 14), out)
    if linktype == 276:
        if end >= 18 and data[11] == 6:
            out["src_mac"] = _mac(data, 12)
        return end >= 20 and _ethertype(data, 20, end, _u16(data, 0), out)
    if linktype in PPP_LINKTYPES:
        p = 2 if end >= 2 and data[0] == 0xFF and data[1] == 0x03 else 0  # address/control (RFC 1662)
        if p + 1 > end:
            return False
        if data[p] & 0x01:  # protocol field compression: a 1-byte protocol
            ppp_proto, p = data[p], p + 1
        else:
            if p + 2 > end:
                return False
            ppp_proto, p = _u16(data, p), p + 2
        etype = PPP_PROTOCOLS.get(ppp_proto, -1)
        return True if etype == -1 else _ethertype(data, p, end, etype, out)
    if linktype in RAW_IP_LINKTYPES:
        if end < 1:
            return False
        version = data[0] >> 4
        out["net_offset"] = 0
        if version == 4:
            out["eth_type"] = ETH_IPV4
            return _ipv4(data, 0, end, out)
        if version == 6:
            out["eth_type"] = ETH_IPV6
            return _ipv6(data, 0, end, out)
        out["net_offset"] = -1
        out["malformed"] = True
        return True
    if linktype == NFLOG_LINKTYPE:
        return _nflog(data, end, out)
    if linktype in (RADIOTAP_LINKTYPE, PPI_LINKTYPE):  # a header whose little-endian length is at byte 2
        if end < (8 if linktype == PPI_LINKTYPE else 4):  # (PPI: the frame's link type, little-endian, after it)
            return False
        length = data[2] | (data[3] << 8)
        if length < 8:  # radiotap: version, pad, length and a present word at least; PPI: its fixed header
            out["malformed"] = True
            return True
        if end < length:
            return False
        if linktype == PPI_LINKTYPE and int.from_bytes(data[4:8], "little") != DOT11_LINKTYPE:
            return True
        return _dot11(data, length, end, out)
    if linktype == DOT11_LINKTYPE:
        return _dot11(data, 0, end, out)
    if linktype in (PRISM_LINKTYPE, AVS_LINKTYPE):
        if end < 8:
            return False
        if linktype == AVS_LINKTYPE or _u32(data, 0) & AVS_MAGIC_MASK == AVS_MAGIC:
            length = _u32(data, 4)
        else:
            length = int.from_bytes(data[4:8], "little")
            if length > 0xFFFF:  # written by a big-endian host
                length = _u32(data, 4)
        if length < 8:
            out["malformed"] = True
            return True
        if end < length:
            return False
        return _dot11(data, length, end, out)
    if linktype == PKTAP_LINKTYPE:
        return _pktap(data, end, out)
    if linktype == ERF_LINKTYPE:
        return _erf(data, end, out)
    if linktype == CHDLC_LINKTYPE:
        if end < 4:
            return False
        etype = _u16(data, 2)
        if etype == ETH_RARP:  # SLARP, Cisco's serial-line address resolution, shares 0x8035: not decoded
            return True
        return _ethertype(data, 4, end, etype, out)
    if linktype == PFLOG_LINKTYPE:  # a header of data[0] bytes, padded to 4; the family at data[1]
        if end < 2:
            return False
        if data[0] < PFLOG_MIN_LENGTH:
            out["malformed"] = True
            return True
        p = (data[0] + 3) & ~3
        if end < p:
            return False
        if data[1] == 2:
            out["eth_type"], out["net_offset"] = ETH_IPV4, p
            return _ipv4(data, p, end, out)
        if data[1] in NULL_IPV6_FAMILIES:
            out["eth_type"], out["net_offset"] = ETH_IPV6, p
            return _ipv6(data, p, end, out)
        return True
    if linktype in NULL_LINKTYPES:
        if end < 4:
            return False
        family = int.from_bytes(data[:4], "little")
        if family > 0xFFFF:
            family = int.from_bytes(data[:4], "big")
        if family == 2:
            out["eth_type"], out["net_offset"] = ETH_IPV4, 4
            return _ipv4(data, 4, end, out)
        if family in NULL_IPV6_FAMILIES:
            out["eth_type"], out["net_offset"] = ETH_IPV6, 4
            return _ipv6(data, 4, end, out)
        return True
    return True


def _pktap(data: bytes, end: int, out: dict) -> bool:
    """Apple's PKTAP: pth_length, pth_type_next and pth_dlt (little-endian) lead the header; a packet record's
    frame follows it, decoded by its DLT (Ethernet, loopback or raw IP: PKTAP_INNER) with offsets from the
    record's start."""
    if end < 12:
        return False
    length = int.from_bytes(data[:4], "little")
    if length < PKTAP_MIN_LENGTH:
        out["malformed"] = True
        return True
    if end < length:
        return False
    inner = int.from_bytes(data[8:12], "little")
    if int.from_bytes(data[4:8], "little") != PKTAP_PACKET or inner not in PKTAP_INNER:
        return True
    complete = _link(inner, data[length:], end - length, out)
    for name in ("net_offset", "transport_offset", "payload_offset"):
        if out[name] >= 0:
            out[name] += length
    return complete


def _nflog(data: bytes, end: int, out: dict) -> bool:
    """NFLOG: a 4-byte header (address family, version, resource id), then TLVs to the payload TLV. A TLV is a
    2-byte length (its 4-byte head included) and a 2-byte type in the byte order of the host that captured (as
    libpcap writes them), padded to 4 bytes. The first TLV's type tells the order: read one way it is below 256
    (netlink attribute types are small; their two flag bits are masked), read the other way it is not."""
    if end < 4:
        return False
    etype = NFLOG_FAMILIES.get(data[0], -1)
    p = 4
    if p + 4 > end:
        return p == end  # no TLV at all: nothing to decode
    order = "little" if int.from_bytes(data[p + 2:p + 4], "little") & 0x3FFF < 0x100 else "big"
    while True:
        if p == end:
            return True  # every TLV captured, none a payload: nothing to decode
        if p + 4 > end:
            return False
        length = int.from_bytes(data[p:p + 2], order)
        kind = int.from_bytes(data[p + 2:p + 4], order) & 0x3FFF
        if length < 4:
            out["malformed"] = True
            return True
        if kind == NFLOG_PAYLOAD:
            if etype == -1:
                return True  # a family other than IPv4/IPv6: not decoded
            p, end = p + 4, min(end, p + length)
            out["eth_type"], out["net_offset"] = etype, p
            return _ipv4(data, p, end, out) if etype == ETH_IPV4 else _ipv6(data, p, end, out)
        p += (length + 3) & ~3
        if p > end:
            return False


def _erf(data: bytes, end: int, out: dict) -> bool:
    """An ERF record: a 16-byte header (time, type, flags, record and wire lengths, loss counter), 8-byte
    extension headers while the type's bit 7 and then each extension's first bit say one follows, then the frame
    by type: Ethernet after 2 bytes (MACs as on Ethernet), PPP (address 0xff) or Cisco HDLC, raw IPv4 or IPv6;
    other types (ATM, multichannel, InfiniBand, ...) are not decoded."""
    if end < 16:
        return False
    kind, p, more = data[8] & 0x7F, 16, data[8] & 0x80
    while more:
        if p + 8 > end:
            return False
        more = data[p] & 0x80
        p += 8
    if kind in ERF_ETHERNET:
        p += 2
        if end >= p + 6:
            out["dst_mac"] = _mac(data, p)
        if end >= p + 12:
            out["src_mac"] = _mac(data, p + 6)
        return end >= p + 14 and _ethertype(data, p + 14, end, _u16(data, p + 12), out, True)
    if kind in ERF_HDLC:
        if p + 4 > end:
            return False
        if data[p] == 0xFF:  # PPP: address 0xff, control, a 2-byte protocol
            etype = PPP_PROTOCOLS.get(_u16(data, p + 2), -1)
            return True if etype == -1 else _ethertype(data, p + 4, end, etype, out)
        etype = _u16(data, p + 2)  # Cisco HDLC: an ethertype (0x8035: SLARP, not decoded)
        return True if etype == ETH_RARP else _ethertype(data, p + 4, end, etype, out)
    if kind == ERF_IPV4:
        out["eth_type"], out["net_offset"] = ETH_IPV4, p
        return _ipv4(data, p, end, out)
    if kind == ERF_IPV6:
        out["eth_type"], out["net_offset"] = ETH_IPV6, p
        return _ipv6(data, p, end, out)
    return True


def _dot11(data: bytes, p: int, end: int, out: dict) -> bool:
    """An IEEE 802.11 frame at data[p]: a data frame that is not protected (encrypted), carries data and is not an
    A-MSDU continues with LLC/SNAP as Ethernet's 802.3 frames do; anything else is not decoded. The header: frame
    control, duration, three addresses, sequence control (24 bytes), a fourth address when both DS bits are set,
    QoS control for QoS subtypes, and HT control when a QoS frame sets the order bit."""
    if p + 2 > end:
        return False
    fc0, fc1 = data[p], data[p + 1]
    kind, subtype = (fc0 >> 2) & 0x3, fc0 >> 4
    if fc0 & 0x3 or kind != 2 or subtype & 0x4 or fc1 & 0x40:  # version 0 data frames, with data, in clear
        return True
    qos = p + 24 + (6 if fc1 & 0x3 == 0x3 else 0)
    header = qos - p
    if subtype & 0x8:
        if qos + 1 > end:
            return False
        if data[qos] & 0x80:  # an A-MSDU: subframes, not one LLC frame
            return True
        header += 2 + (4 if fc1 & 0x80 else 0)
    if p + header > end:
        return False
    return _ethertype(data, p + header, end, 0, out, True)


def _ethertype(data: bytes, p: int, end: int, etype: int, out: dict, lengths: bool = False) -> bool:
    """VLAN tags, LLC/SNAP (`lengths`: Ethernet, where a type <= 1500 is an 802.3 length), PPPoE, MPLS, then
    IPv4/IPv6/ARP, starting at the payload of ethertype `etype`."""
    while etype in VLAN_TPIDS:
        if p + 2 > end:
            return False
        vid = _u16(data, p) & 0x0FFF
        if out["vlan"] == -1:
            out["vlan"] = vid
        elif out["vlan_inner"] == -1:
            out["vlan_inner"] = vid
        if p + 4 > end:
            return False
        etype = _u16(data, p + 2)
        p += 4
    if etype <= 1500 and lengths:  # 802.3 length: an 802.2 LLC header follows
        if p + 3 > end:
            return False
        if data[p] != 0xAA or data[p + 1] != 0xAA or data[p + 2] != 0x03:
            return True  # LLC without SNAP (STP, NetBIOS, IPX ...): not decoded
        if p + 8 > end:  # SNAP: OUI (3 bytes), then an ethertype
            return False
        etype = _u16(data, p + 6)
        p += 8
    if etype == ETH_PPPOE_SESSION:
        out["eth_type"] = etype
        if p + 7 > end:  # ver/type, code, session (2), length (2), PPP protocol (1 or 2)
            return False
        if data[p + 6] & 0x01:  # protocol field compression (RFC 1661): a 1-byte protocol
            ppp_proto = data[p + 6]
            p += 7
        else:
            if p + 8 > end:
                return False
            ppp_proto = _u16(data, p + 6)
            p += 8
        if ppp_proto == 0x0021:
            etype = ETH_IPV4
        elif ppp_proto == 0x0057:
            etype = ETH_IPV6
        else:
            return True
    if etype in MPLS_TYPES:
        out["eth_type"] = etype
        while True:
            if p + 3 <= end and out["mpls_label"] == -1:
                out["mpls_label"] = (_u16(data, p) << 4) | (data[p + 2] >> 4)
            if p + 4 > end:
                return False
            bottom = data[p + 2] & 0x01
            p += 4
            if bottom:
                break
        if p + 1 > end:
            return False
        version = data[p] >> 4
        if version == 4:
            etype = ETH_IPV4
        elif version == 6:
            etype = ETH_IPV6
        else:
            return True
    if etype < 0x0600:
        return True
    out["eth_type"] = etype
    out["net_offset"] = p
    if etype == ETH_IPV4:
        return _ipv4(data, p, end, out)
    if etype == ETH_IPV6:
        return _ipv6(data, p, end, out)
    if etype == ETH_ARP or etype == ETH_RARP:
        return _arp(data, p, end, out)
    return True


def _arp(data: bytes, p: int, end: int, out: dict) -> bool:
    """ARP/RARP: the opcode; hardware and protocol addresses when they are 6 and 4 bytes (Ethernet, IPv4)."""
    if p + 8 > end:
        return False
    out["arp_op"] = _u16(data, p + 6)
    hlen, plen = data[p + 4], data[p + 5]
    if hlen == 6 and plen == 4:
        if p + 14 <= end:
            out["arp_sha"] = _mac(data, p + 8)
        if p + 18 <= end:
            out["arp_spa"] = _u32(data, p + 14)
        if p + 24 <= end:
            out["arp_tha"] = _mac(data, p + 18)
        if p + 28 <= end:
            out["arp_tpa"] = _u32(data, p + 24)
    return p + 8 + 2 * (hlen + plen) <= end


def _ipv4(data: bytes, p: int, end: int, out: dict) -> bool:
    if p + 1 > end:
        return False
    if data[p] >> 4 != 4:
        out["malformed"] = True
        return True
    out["ip_version"] = 4
    hlen = (data[p] & 0x0F) * 4
    total = -1
    frag = 0
    if p + 4 <= end:
        total = out["ip_len"] = _u16(data, p + 2)
    if p + 6 <= end:
        out["ip_id"] = _u16(data, p + 4)
    if p + 8 <= end:
        word = _u16(data, p + 6)
        frag = out["frag_offset"] = (word & 0x1FFF) * 8
        out["frag_flags"] = (1 if word & 0x2000 else 0) | (2 if word & 0x4000 else 0)
    if p + 9 <= end:
        out["ttl"] = data[p + 8]
    if p + 10 <= end:
        out["ip_proto"] = data[p + 9]
    if p + 16 <= end:
        out["src_lo"] = V4_MAPPED_LO | _u32(data, p + 12)
    if p + 20 <= end:
        out["dst_lo"] = V4_MAPPED_LO | _u32(data, p + 16)
    if hlen < 20 or (total != -1 and total < hlen):
        out["malformed"] = True
        return True
    if p + hlen > end:
        return False
    complete = p + total <= end
    if frag != 0:
        return complete
    out["transport_offset"] = p + hlen
    return _transport(data, p + hlen, end, data[p + 9], out) and complete


def _ipv6(data: bytes, p: int, end: int, out: dict) -> bool:
    if p + 1 > end:
        return False
    if data[p] >> 4 != 6:
        out["malformed"] = True
        return True
    out["ip_version"] = 6
    plen = 0
    if p + 6 <= end:
        plen = _u16(data, p + 4)
        out["ip_len"] = plen + 40
    if p + 7 <= end:
        out["ip_proto"] = data[p + 6]
    if p + 8 <= end:
        out["ttl"] = data[p + 7]
    if p + 24 <= end:
        out["src_hi"] = int.from_bytes(data[p + 8:p + 16], "big")
        out["src_lo"] = int.from_bytes(data[p + 16:p + 24], "big")
    if p + 40 > end:
        return False
    out["dst_hi"] = int.from_bytes(data[p + 24:p + 32], "big")
    out["dst_lo"] = int.from_bytes(data[p + 32:p + 40], "big")
    complete = p + 40 + plen <= end
    nh = data[p + 6]
    t = p + 40
    while nh in IPV6_OPTION_HEADERS or nh == 44 or nh == 51:
        if t + 1 > end:
            return False
        nxt = out["ip_proto"] = data[t]
        if nh == 44:
            if t + 4 <= end:
                word = _u16(data, t + 2)
                out["frag_offset"] = word & 0xFFF8
                out["frag_flags"] = word & 0x01
            if t + 8 <= end:
                out["ip_id"] = _u32(data, t + 4)
            if t + 8 > end:
                return False
            if out["frag_offset"] != 0:
                return complete
            t += 8
        else:
            if t + 2 > end:
                return False
            t += (data[t + 1] + 2) * 4 if nh == 51 else (data[t + 1] + 1) * 8
            if t > end:
                return False
        nh = nxt
    out["ip_proto"] = nh
    out["transport_offset"] = t
    return _transport(data, t, end, nh, out) and complete


def _transport(data: bytes, t: int, end: int, proto: int, out: dict) -> bool:
    """Ports, TCP flags, ICMP type/code from offset t; False when the header is cut."""
    if proto in (6, 17, 132, 136):
        if t + 2 <= end:
            out["src_port"] = _u16(data, t)
        if t + 4 <= end:
            out["dst_port"] = _u16(data, t + 2)
    if proto == 6:
        if t + 14 <= end:
            out["tcp_flags"] = data[t + 13] | ((data[t + 12] & 0x01) << 8)
        if t + 13 > end:
            return False
        hlen = (data[t + 12] >> 4) * 4
        if hlen < 20:
            out["malformed"] = True
            return True
        if t + hlen > end:
            return False
        out["payload_offset"] = t + hlen
        return True
    if proto == 17 or proto == 136:
        if proto == 17 and t + 6 <= end and _u16(data, t + 4) < 8:
            out["malformed"] = True
        if t + 8 > end:
            return False
        out["payload_offset"] = t + 8
        return True
    if proto == 132:
        return t + 12 <= end
    if proto == 1 or proto == 58:
        if t + 1 <= end:
            out["icmp_type"] = data[t]
        if t + 2 <= end:
            out["icmp_code"] = data[t + 1]
        return t + 4 <= end
    return True


def decode_records(
    linktype_per_row: Sequence[int] | np.ndarray,
    datas: Sequence[bytes],
    wirelens: Sequence[int] | np.ndarray,
) -> dict[str, np.ndarray]:
    """Decode many packets into a PacketBatch-like dict of numpy arrays.

    Keys: every DECODED_FIELDS name (dtypes of forensics.records.PACKET_FIELDS), `linktype`,
    `caplen`, `wirelen`, and `payload_offset` (int64, -1 when not reached). The record fields the
    reader owns (frame, ts_us, iface, file_offset) are not included.
    """
    n = len(datas)
    dtypes = dict(PACKET_FIELDS)
    columns: dict[str, list] = {name: [] for name in DECODED_FIELDS}
    columns["payload_offset"] = []
    for linktype, data, wirelen in zip(linktype_per_row, datas, wirelens, strict=True):
        row = decode_packet(int(linktype), data, int(wirelen))
        for name, values in columns.items():
            values.append(row[name])
    batch = {name: np.array(values, dtype=dtypes.get(name, "int64")) for name, values in columns.items()}
    batch["linktype"] = np.asarray(linktype_per_row, dtype=dtypes["linktype"]).reshape(n)
    batch["caplen"] = np.array([len(d) for d in datas], dtype=dtypes["caplen"])
    batch["wirelen"] = np.asarray(wirelens, dtype=dtypes["wirelen"]).reshape(n)
    return batch
