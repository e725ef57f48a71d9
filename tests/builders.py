"""Byte builders for tests: frames, headers and whole capture files, built from their definitions.

Every builder returns `bytes` and documents the byte layout it writes (network byte order unless
said otherwise). Builders nest: `eth(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1234, 80, SYN)))`.
Checksums are correct where the builder has what it needs (IPv4 header, ICMP; TCP/UDP/ICMPv6
when `src`/`dst` are passed); otherwise they are zero, which readers here never check.

Capture files: `pcap_file(records, ...)` and `pcapng_file([Section(...), ...])`; `gzip_bytes(data)`.
Timestamps are a float (seconds since the epoch) or an int (nanoseconds since the epoch).

The API is shared by several test folders: add keyword arguments, never change existing ones.
"""

from __future__ import annotations

import gzip
import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# TCP flag bits as the decoder reports them (NS is bit 0 of byte 12, reported as 256).
FIN, SYN, RST, PSH, ACK, URG, ECE, CWR, NS = 1, 2, 4, 8, 16, 32, 64, 128, 256

ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
TPID_8021Q, TPID_8021AD, TPID_9100 = 0x8100, 0x88A8, 0x9100
ETH_MPLS, ETH_MPLS_MC, ETH_PPPOE_SESSION = 0x8847, 0x8848, 0x8864

DEFAULT_DST_MAC = bytes.fromhex("020000000002")
DEFAULT_SRC_MAC = bytes.fromhex("020000000001")


def mac(value: str | bytes) -> bytes:
    """'aa:bb:cc:dd:ee:ff' (or '-' separated, or 6 raw bytes) -> 6 bytes."""
    if isinstance(value, bytes):
        if len(value) != 6:
            raise ValueError(f"a MAC address is 6 bytes, got {len(value)}")
        return value
    return bytes.fromhex(value.replace(":", "").replace("-", ""))


def _addr(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def inet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement sum of 16-bit words (odd length padded with a zero byte)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo_checksum(src: str, dst: str, proto: int, segment: bytes) -> int:
    s, d = _addr(src), _addr(dst)
    if len(s) == 4:
        pseudo = s + d + struct.pack("!BBH", 0, proto, len(segment))
    else:
        pseudo = s + d + struct.pack("!IxxxB", len(segment), proto)
    return inet_checksum(pseudo + segment)


def _with_checksum(segment: bytes, at: int, src: str | None, dst: str | None, proto: int) -> bytes:
    if src is None or dst is None:
        return segment
    csum = _pseudo_checksum(src, dst, proto, segment)
    if proto == 17 and csum == 0:
        csum = 0xFFFF
    return segment[:at] + struct.pack("!H", csum) + segment[at + 2:]


# ---------------------------------------------------------------------------------------------
# Link layers


def eth(
    ethertype: int,
    payload: bytes,
    *,
    dst: str | bytes = DEFAULT_DST_MAC,
    src: str | bytes = DEFAULT_SRC_MAC,
    tags: Sequence[tuple[int, ...]] = (),
) -> bytes:
    """Ethernet II frame (LINKTYPE 1), no FCS, no padding.

    Layout: dst MAC (6) | src MAC (6) | per tag: TPID (2), TCI (2) | ethertype (2) | payload.
    `tags` is outermost first; each is (tpid, vid) or (tpid, vid, pcp); TCI = pcp << 13 | vid.
    """
    out = bytearray(mac(dst) + mac(src))
    for tag in tags:
        tpid, vid = tag[0], tag[1]
        pcp = tag[2] if len(tag) > 2 else 0
        out += struct.pack("!HH", tpid, (pcp << 13) | (vid & 0x0FFF))
    out += struct.pack("!H", ethertype)
    return bytes(out) + payload


def pad60(frame: bytes) -> bytes:
    """Pad an Ethernet frame with zeros to the 60-byte minimum (what a NIC puts on the wire)."""
    return frame + b"\x00" * max(0, 60 - len(frame))


def mpls(labels: Sequence[int | tuple[int, int, int]], payload: bytes) -> bytes:
    """MPLS label stack (follows ethertype 0x8847/0x8848), outermost first.

    Each entry: 4 bytes = label (20 bits) | TC (3) | S (1, set on the last entry only) | TTL (8).
    An entry is a label (TC 0, TTL 64) or a (label, tc, ttl) tuple.
    """
    out = bytearray()
    for i, entry in enumerate(labels):
        label, tc, ttl = (entry, 0, 64) if isinstance(entry, int) else entry
        bottom = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (label << 12) | (tc << 9) | (bottom << 8) | ttl)
    return bytes(out) + payload


def pppoe(payload: bytes, v6: bool = False, *, session: int = 1, ppp_proto: int | None = None,
          compressed: bool = False) -> bytes:
    """PPPoE session stage (follows ethertype 0x8864) carrying one PPP frame.

    Layout: ver/type 0x11 (1) | code 0 (1) | session id (2) | length = PPP protocol size + len(payload)
    (2) | PPP protocol (2: 0x0021 IPv4, 0x0057 IPv6, or `ppp_proto`; 1 byte when `compressed`, RFC 1661
    protocol field compression) | payload.
    """
    proto = ppp_proto if ppp_proto is not None else (0x0057 if v6 else 0x0021)
    field = bytes([proto]) if compressed else struct.pack("!H", proto)
    return struct.pack("!BBHH", 0x11, 0, session, len(payload) + len(field)) + field + payload


def sll(proto: int, payload: bytes, *, pkttype: int = 0, hatype: int = 1,
        addr: bytes = DEFAULT_SRC_MAC) -> bytes:
    """Linux cooked capture v1 (LINKTYPE 113), 16-byte header.

    Layout: packet type (2) | ARPHRD type (2) | address length (2) | address, zero padded (8) |
    protocol (2, an ethertype for ARPHRD_ETHER) | payload.
    """
    return struct.pack("!HHH8sH", pkttype, hatype, len(addr), addr.ljust(8, b"\x00"), proto) + payload


def sll2(proto: int, payload: bytes, *, ifindex: int = 1, hatype: int = 1, pkttype: int = 0,
         addr: bytes = DEFAULT_SRC_MAC) -> bytes:
    """Linux cooked capture v2 (LINKTYPE 276), 20-byte header.

    Layout: protocol (2) | reserved (2) | interface index (4) | ARPHRD type (2) | packet type (1) |
    address length (1) | address, zero padded (8) | payload.
    """
    return struct.pack("!HHIHBB8s", proto, 0, ifindex, hatype, pkttype, len(addr),
                       addr.ljust(8, b"\x00")) + payload


def null_loop(family: int, payload: bytes, big_endian: bool = False) -> bytes:
    """BSD null/loopback header (LINKTYPE 0 host order, 108 network order): 4-byte family | payload.

    Families: 2 = IPv4; 24, 28, 30 = IPv6 (NetBSD/OpenBSD, FreeBSD, macOS).
    """
    return struct.pack(">I" if big_endian else "<I", family) + payload


def nflog_tlv(kind: int, value: bytes, big_endian: bool = False) -> bytes:
    """One NFLOG TLV: length (4 + len(value)) | type, each 2 bytes in the capturing host's order, then the
    value, padded with zeros to a multiple of 4."""
    head = struct.pack(">HH" if big_endian else "<HH", 4 + len(value), kind)
    return head + value + bytes(-len(value) % 4)


def nflog(payload: bytes | None, family: int = 2, *, big_endian: bool = False, resource: int = 42,
          before: tuple[tuple[int, bytes], ...] = ((1, b"\x08\x00\x01\x00"), (10, b"\x00"), (5, bytes(4))),
          after: tuple[tuple[int, bytes], ...] = ()) -> bytes:
    """Linux NFLOG (LINKTYPE 239): family (1: 2 IPv4, 10 IPv6) | version 0 (1) | resource id (2, big-endian) |
    TLVs `before` (default: packet header 1, prefix 10, outdev 5, as tcpdump -i nflog writes them) | the payload
    TLV (type 9: the packet from its network header; none when `payload` is None) | TLVs `after`."""
    tlvs = b"".join(nflog_tlv(k, v, big_endian) for k, v in before)
    if payload is not None:
        tlvs += nflog_tlv(9, payload, big_endian)
    tlvs += b"".join(nflog_tlv(k, v, big_endian) for k, v in after)
    return struct.pack("!BBH", family, 0, resource) + tlvs


def pflog(packet: bytes, family: int = 2, *, ifname: bytes = b"em0", action: int = 0, reason: int = 0,
          rulenr: int = 3, subrulenr: int = 0xFFFFFFFF, ruleset: bytes = b"", direction: int = 1,
          length: int = 61) -> bytes:
    """An OpenBSD/FreeBSD pflog record (LINKTYPE 117): length (1: 61, the header without its padding) | family
    (1: BSD, 2 IPv4, 24/28/30 IPv6) | action (1) | reason (1) | interface name (16) | ruleset (16) | rule number (4)
    | subrule number (4) | uid, pid, rule uid, rule pid (4 each) | direction (1) | padding (3) | the packet."""
    head = struct.pack("!BBBB16s16sIIIiIiB3s", length, family, action, reason, ifname.ljust(16, b"\0"),
                       ruleset.ljust(16, b"\0"), rulenr, subrulenr, 0, 0, 0, 0, direction, bytes(3))
    return head[:max(length, 0)].ljust((length + 3) & ~3, b"\0") + packet


def chdlc(ethertype: int, payload: bytes, address: int = 0x0F) -> bytes:
    """Cisco HDLC (LINKTYPE 104): address (1: 0x0f unicast, 0x8f broadcast) | control 0 (1) | ethertype (2) |
    payload."""
    return struct.pack("!BBH", address, 0, ethertype) + payload


def snap(ethertype: int, payload: bytes) -> bytes:
    """802.2 LLC/SNAP: AA AA 03 | OUI 00 00 00 | ethertype (2) | payload."""
    return b"\xaa\xaa\x03\x00\x00\x00" + struct.pack("!H", ethertype) + payload


def dot11(body: bytes, *, qos: bool = True, to_ds: bool = False, from_ds: bool = True, protected: bool = False,
          htc: bool = False, amsdu: bool = False, kind: int = 2, subtype: int | None = None) -> bytes:
    """An IEEE 802.11 frame (LINKTYPE 105). Frame control (2: version 0, `kind` 2 data, subtype 8 QoS data or 0
    data; flags to-DS 0x01, from-DS 0x02, protected 0x40, order 0x80 = HT control with QoS) | duration (2) | three
    addresses (18) | sequence control (2) | a fourth address when to-DS and from-DS (6) | QoS control (2: bit 7 of
    its first byte marks an A-MSDU) | HT control (4, QoS and order) | `body` (LLC/SNAP for a data frame)."""
    sub = subtype if subtype is not None else (8 if qos else 0)
    flags = (0x01 if to_ds else 0) | (0x02 if from_ds else 0) | (0x40 if protected else 0) | (0x80 if htc else 0)
    head = bytes([(sub << 4) | (kind << 2), flags]) + b"\x2c\x00" + bytes(range(1, 19)) + b"\x10\x00"
    if to_ds and from_ds:
        head += bytes(range(31, 37))
    if sub & 0x8:
        head += bytes([0x80 if amsdu else 0x06, 0x00])
        if htc:
            head += b"\x00\x00\x00\x00"
    return head + body


def erf(kind: int, frame: bytes, extensions: int = 0) -> bytes:
    """An Endace ERF record (LINKTYPE 197): time (8, little-endian) | type (1: `kind`, bit 7 when extension
    headers follow) | flags 0x04 (1) | record length (2) | loss counter 0 (2) | wire length (2) | `extensions`
    8-byte extension headers (bit 7 of each first byte: another follows) | 2 bytes (offset, pad) for the Ethernet
    types 2, 11, 16, 20 | `frame`."""
    exts = b"".join(bytes([(0x80 if i < extensions - 1 else 0) | 3]) + bytes(7) for i in range(extensions))
    body = exts + (b"\x00\x00" if kind in (2, 11, 16, 20) else b"") + frame
    return struct.pack("<Q", 0) + struct.pack("!BBHHH", kind | (0x80 if extensions else 0), 0x04, 16 + len(body), 0,
                                              len(frame)) + body


def ppi(frame: bytes, dlt: int = 105, length: int = 8) -> bytes:
    """A PPI header (LINKTYPE 192): version 0 | flags 0 | length (2, little-endian) | the frame's link type (4,
    little-endian) | fields, zero padded to `length` | the frame."""
    return struct.pack("<BBHI", 0, 0, length, dlt) + bytes(max(0, length - 8)) + frame


def radiotap(frame: bytes, length: int = 12) -> bytes:
    """A radiotap header (LINKTYPE 127): version 0 | pad | length (2, little-endian) | present flags (4: flags
    and rate) | fields, zero padded to `length` | the 802.11 frame."""
    return struct.pack("<BBHI", 0, 0, length, 0x6) + bytes(max(0, length - 8)) + frame


# ---------------------------------------------------------------------------------------------
# Network layers


def ipv4(
    src: str,
    dst: str,
    proto: int,
    payload: bytes,
    ttl: int = 64,
    ident: int = 0,
    df: bool = False,
    mf: bool = False,
    frag_offset: int = 0,
    options: bytes = b"",
    *,
    tos: int = 0,
    total_length: int | None = None,
    ihl: int | None = None,
    version: int = 4,
) -> bytes:
    """IPv4 header with a correct checksum, then payload.

    Layout: version|IHL (1) | TOS (1) | total length (2) | identification (2) |
    flags (3 bits: 0, DF, MF) | fragment offset in 8-byte units (13 bits) | TTL (1) | protocol (1) |
    checksum (2) | src (4) | dst (4) | options (zero padded to a multiple of 4) | payload.
    `frag_offset` is in bytes (a multiple of 8). `total_length`, `ihl` and `version` override the
    computed values (to build damaged packets); the checksum covers whatever was written.
    """
    if frag_offset % 8:
        raise ValueError("frag_offset is in bytes and must be a multiple of 8")
    options = options + b"\x00" * (-len(options) % 4)
    hlen = 20 + len(options)
    ihl_value = hlen // 4 if ihl is None else ihl
    tot = hlen + len(payload) if total_length is None else total_length
    flags_frag = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_offset // 8)
    header = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl_value, tos, tot, ident, flags_frag,
                         ttl, proto, 0, _addr(src), _addr(dst)) + options
    csum = inet_checksum(header)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def ext_frag(offset: int = 0, more: bool = False, ident: int = 0) -> tuple[int, bytes]:
    """An IPv6 fragment header entry for `ipv6(ext=[...])`: (44, offset|M (2) + identification (4)).

    `offset` is in bytes (a multiple of 8).
    """
    if offset % 8:
        raise ValueError("offset is in bytes and must be a multiple of 8")
    return 44, struct.pack("!HI", (offset // 8) << 3 | (1 if more else 0), ident)


def ext_ah(spi: int = 0x1000, seq: int = 1, icv: bytes = b"\x00" * 12) -> tuple[int, bytes]:
    """An authentication header entry for `ipv6(ext=[...])`: (51, reserved (2) | SPI (4) | seq (4) | ICV)."""
    return 51, struct.pack("!HII", 0, spi, seq) + icv


def _ext_header(nh_type: int, next_header: int, body: bytes) -> bytes:
    if nh_type == 44:
        # next header (1) | reserved (1) | body: offset/flags (2) + identification (4)
        return struct.pack("!BB", next_header, 0) + body.ljust(6, b"\x00")
    if nh_type == 51:
        # next header (1) | payload length in 4-byte units minus 2 (1) | body, to a multiple of 8 bytes
        body = body + b"\x00" * (-(2 + len(body)) % 8)
        return struct.pack("!BB", next_header, (2 + len(body)) // 4 - 2) + body
    # hop-by-hop, routing, destination options and others: next header (1) | length in 8-byte units
    # minus 1 (1) | body zero padded (zeros are Pad1 options) to a multiple of 8 bytes in all
    body = body + b"\x00" * (-(2 + len(body)) % 8)
    return struct.pack("!BB", next_header, (2 + len(body)) // 8 - 1) + body


def ipv6(
    src: str,
    dst: str,
    next_header: int,
    payload: bytes,
    hop_limit: int = 64,
    ext: Sequence[tuple[int, bytes]] = (),
    *,
    traffic_class: int = 0,
    flow_label: int = 0,
    payload_length: int | None = None,
    version: int = 6,
) -> bytes:
    """IPv6 header, extension headers, payload.

    Layout: version|class|flow label (4) | payload length (2) | next header (1) | hop limit (1) |
    src (16) | dst (16) | extension headers | payload.
    `ext` lists (type, body) in order; the builder writes each header's next-header byte (the next
    entry's type, `next_header` after the last) and its length byte:
    types 0/43/60 (and unknown): next (1) | len = total/8 - 1 (1) | body zero padded to 8n;
    44 fragment: next (1) | reserved (1) | body = offset|M (2) + identification (4) (see `ext_frag`);
    51 AH: next (1) | len = total/4 - 2 (1) | body padded to 8n (see `ext_ah`).
    ESP (50) is not an `ext` entry: pass next_header=50 and the ESP bytes as payload.
    `payload_length` and `version` override the computed values.
    """
    chain = bytearray()
    for i, (nh_type, body) in enumerate(ext):
        following = ext[i + 1][0] if i + 1 < len(ext) else next_header
        chain += _ext_header(nh_type, following, body)
    first = ext[0][0] if ext else next_header
    plen = len(chain) + len(payload) if payload_length is None else payload_length
    word0 = (version << 28) | (traffic_class << 20) | flow_label
    fixed = struct.pack("!IHBB16s16s", word0, plen, first, hop_limit, _addr(src), _addr(dst))
    return fixed + bytes(chain) + payload


# ---------------------------------------------------------------------------------------------
# Transport layers


def tcp(
    sport: int,
    dport: int,
    flags: int,
    payload: bytes = b"",
    seq: int = 0,
    ack: int = 0,
    *,
    window: int = 65535,
    options: bytes = b"",
    data_offset: int | None = None,
    src: str | None = None,
    dst: str | None = None,
) -> bytes:
    """TCP header, then payload.

    Layout: sport (2) | dport (2) | seq (4) | ack (4) | data offset (4 bits) | reserved (3) | NS (1) |
    flags CWR..FIN (1) | window (2) | checksum (2) | urgent pointer (2) | options (zero padded to 4n).
    `flags` uses the decoder's bits (NS = 256). `data_offset` (in 4-byte words) overrides the computed
    one. The checksum is computed when `src` and `dst` (the IP addresses) are given, else zero.
    """
    options = options + b"\x00" * (-len(options) % 4)
    doff = (20 + len(options)) // 4 if data_offset is None else data_offset
    byte12 = (doff << 4) | ((flags >> 8) & 1)
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, byte12, flags & 0xFF, window, 0, 0)
    seg = head + options + payload
    return _with_checksum(seg, 16, src, dst, 6)


def udp(sport: int, dport: int, payload: bytes = b"", *, length: int | None = None,
        src: str | None = None, dst: str | None = None, lite: bool = False) -> bytes:
    """UDP header (8), then payload: sport (2) | dport (2) | length (2) | checksum (2).

    `length` overrides 8 + len(payload) (for UDP-Lite, `lite=True`, it is the checksum coverage, 0 =
    all). The checksum is computed when `src` and `dst` are given, else zero.
    """
    if length is None:
        length = 0 if lite else 8 + len(payload)
    seg = struct.pack("!HHHH", sport, dport, length, 0) + payload
    return _with_checksum(seg, 6, src, dst, 136 if lite else 17)


def icmp(type: int, code: int, payload: bytes = b"", *, rest: int = 0) -> bytes:
    """ICMPv4 message with a correct checksum.

    Layout: type (1) | code (1) | checksum (2) | rest of header (4: e.g. identifier, sequence for an
    echo; `rest` as a 32-bit int) | payload.
    """
    msg = struct.pack("!BBHI", type, code, 0, rest) + payload
    return msg[:2] + struct.pack("!H", inet_checksum(msg)) + msg[4:]


def icmp6(type: int, code: int, payload: bytes = b"", *, src: str | None = None,
          dst: str | None = None) -> bytes:
    """ICMPv6 message: type (1) | code (1) | checksum (2) | message body (`payload`, e.g. id|seq|data).

    The checksum (over the IPv6 pseudo header) is computed when `src` and `dst` are given, else zero.
    """
    msg = struct.pack("!BBH", type, code, 0) + payload
    return _with_checksum(msg, 2, src, dst, 58)


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def sctp_chunk(chunk_type: int, value: bytes = b"", flags: int = 0) -> bytes:
    """One SCTP chunk: type (1) | flags (1) | length = 4 + len(value) (2) | value, zero padded to 4n."""
    return struct.pack("!BBH", chunk_type, flags, 4 + len(value)) + value + b"\x00" * (-len(value) % 4)


def sctp(sport: int, dport: int, chunks: bytes = b"", *, vtag: int = 0) -> bytes:
    """SCTP common header (12) with its CRC32c, then chunks (see `sctp_chunk`).

    Layout: sport (2) | dport (2) | verification tag (4) | checksum, CRC32c stored little-endian (4).
    """
    packet = struct.pack("!HHII", sport, dport, vtag, 0) + chunks
    return packet[:8] + struct.pack("<I", _crc32c(packet)) + packet[12:]


def gre(proto: int, payload: bytes, *, key: int | None = None, seq: int | None = None,
        checksum: bool = False) -> bytes:
    """GRE (RFC 2784/2890): C|0|K|S flags, version 0 (2) | protocol type (2) |
    [checksum (2) + reserved (2)] | [key (4)] | [sequence (4)] | payload."""
    flags = (0x8000 if checksum else 0) | (0x2000 if key is not None else 0)
    flags |= 0x1000 if seq is not None else 0
    head = struct.pack("!HH", flags, proto)
    tail = b""
    if key is not None:
        tail += struct.pack("!I", key)
    if seq is not None:
        tail += struct.pack("!I", seq)
    if checksum:
        csum = inet_checksum(head + b"\x00\x00\x00\x00" + tail + payload)
        return head + struct.pack("!HH", csum, 0) + tail + payload
    return head + tail + payload


# ---------------------------------------------------------------------------------------------
# Capture files


def _split_ts(ts: float | int, units_per_second: int) -> tuple[int, int]:
    """(seconds, sub-second units) for a float in seconds or an int in nanoseconds."""
    if isinstance(ts, int):
        sec, ns = divmod(ts, 1_000_000_000)
        return sec, ns * units_per_second // 1_000_000_000
    sec = int(ts // 1)
    return sec, min(units_per_second - 1, int(round((ts - sec) * units_per_second)))


def _record(rec: Sequence) -> tuple[float | int, bytes, int]:
    ts, data = rec[0], rec[1]
    wirelen = rec[2] if len(rec) > 2 and rec[2] is not None else len(data)
    return ts, data, wirelen


def pcap_file(
    records: Iterable[Sequence],
    linktype: int = 1,
    nano: bool = False,
    big_endian: bool = False,
    snaplen: int = 65535,
) -> bytes:
    """A libpcap file.

    Global header (24): magic 0xa1b2c3d4 (usec) or 0xa1b23c4d (nsec), in the chosen byte order |
    version 2 (2) | 4 (2) | thiszone 0 (4) | sigfigs 0 (4) | snaplen (4) | linktype (4).
    Per record: ts seconds (4) | ts usec or nsec (4) | caplen (4) | wirelen (4) | data.
    `records` are (ts, data) or (ts, data, wirelen); data is written as given (not cut to snaplen).
    """
    e = ">" if big_endian else "<"
    units = 1_000_000_000 if nano else 1_000_000
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = bytearray(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    for rec in records:
        ts, data, wirelen = _record(rec)
        sec, sub = _split_ts(ts, units)
        out += struct.pack(e + "IIII", sec, sub, len(data), wirelen) + data
    return bytes(out)


def _options(e: str, options: Sequence[tuple[int, bytes]], end: bool = True) -> bytes:
    """pcapng options: per option code (2) | length (2) | value zero padded to 4n; then opt_endofopt."""
    if not options:
        return b""
    out = bytearray()
    for code, value in options:
        out += struct.pack(e + "HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)
    if end:
        out += struct.pack(e + "HH", 0, 0)
    return bytes(out)


def _block(e: str, block_type: int, body: bytes) -> bytes:
    """pcapng block: type (4) | total length (4) | body zero padded to 4n | total length (4)."""
    body = body + b"\x00" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack(e + "II", block_type, total) + body + struct.pack(e + "I", total)


@dataclass
class Interface:
    """An Interface Description Block (type 1).

    Body: linktype (2) | reserved (2) | snaplen (4) | options: if_name (2), if_tsresol (9, one byte:
    high bit clear = 10^-n seconds, set = 2^-n), then `options` (code, value) as given.
    `tsresol` None writes no if_tsresol (readers then assume microseconds).
    """

    linktype: int = 1
    snaplen: int = 0
    tsresol: int | None = None
    name: str | None = None
    options: list[tuple[int, bytes]] = field(default_factory=list)

    def units_per_second(self) -> tuple[int, int]:
        """(numerator, denominator) of the timestamp units per second."""
        if self.tsresol is None:
            return 1_000_000, 1
        if self.tsresol & 0x80:
            return 2 ** (self.tsresol & 0x7F), 1
        return 10 ** self.tsresol, 1

    def encode(self, e: str) -> bytes:
        opts: list[tuple[int, bytes]] = []
        if self.name is not None:
            opts.append((2, self.name.encode()))
        if self.tsresol is not None:
            opts.append((9, bytes([self.tsresol])))
        opts += self.options
        body = struct.pack(e + "HHI", self.linktype, 0, self.snaplen) + _options(e, opts)
        return _block(e, 1, body)


@dataclass
class Packet:
    """A packet block. `kind`:

    - "epb" Enhanced Packet Block (6): interface id (4) | ts high (4) | ts low (4) | caplen (4) |
      wirelen (4) | data padded to 4n | options (`options`, e.g. (2, flags)).
    - "spb" Simple Packet Block (3): wirelen (4) | data padded to 4n (always interface 0, no time;
      caplen = the block's room, i.e. len(data) padded, cut by readers to min(wirelen, snaplen)).
    - "obsolete" Packet Block (2): interface id (2) | drops (2) | ts high (4) | ts low (4) | caplen (4) |
      wirelen (4) | data padded to 4n | options.
    Timestamps count the interface's units (if_tsresol) since the epoch.
    """

    data: bytes
    ts: float | int = 0
    iface: int = 0
    wirelen: int | None = None
    kind: str = "epb"
    options: list[tuple[int, bytes]] = field(default_factory=list)

    def encode(self, e: str, interfaces: Sequence[Interface]) -> bytes:
        wirelen = len(self.data) if self.wirelen is None else self.wirelen
        if self.kind == "spb":
            return _block(e, 3, struct.pack(e + "I", wirelen) + self.data)
        num, _ = interfaces[self.iface].units_per_second() if self.iface < len(interfaces) else (10**6, 1)
        if isinstance(self.ts, int):
            units = self.ts * num // 1_000_000_000
        else:
            units = int(round(self.ts * num))
        hi, lo = units >> 32, units & 0xFFFFFFFF
        padded = self.data + b"\x00" * (-len(self.data) % 4)
        opts = _options(e, self.options)
        if self.kind == "epb":
            body = struct.pack(e + "IIIII", self.iface, hi, lo, len(self.data), wirelen) + padded + opts
            return _block(e, 6, body)
        if self.kind == "obsolete":
            body = struct.pack(e + "HHIIII", self.iface, 0, hi, lo, len(self.data), wirelen) + padded + opts
            return _block(e, 2, body)
        raise ValueError(f"unknown packet block kind {self.kind!r}")


@dataclass
class RawBlock:
    """Any other block, written as type (4) | total length (4) | body padded to 4n | total length (4).

    Use it for blocks a reader must skip: custom blocks (0x00000BAD / 0x40000BAD, body = PEN (4) +
    data; prefer `CustomBlock`), statistics (5), name resolution (4), or unknown types.
    """

    block_type: int
    body: bytes = b""

    def encode(self, e: str, interfaces: Sequence[Interface]) -> bytes:
        return _block(e, self.block_type, self.body)


@dataclass
class CustomBlock:
    """A pcapng Custom Block: type 0x00000BAD (copyable) or 0x40000BAD (not copyable).

    Body: Private Enterprise Number (4, in the section's byte order) | data.
    """

    data: bytes = b""
    pen: int = 32473
    copyable: bool = True

    def encode(self, e: str, interfaces: Sequence[Interface]) -> bytes:
        block_type = 0x00000BAD if self.copyable else 0x40000BAD
        return _block(e, block_type, struct.pack(e + "I", self.pen) + self.data)


@dataclass
class Section:
    """One pcapng section: a Section Header Block, then `blocks` (Interface, Packet, CustomBlock,
    RawBlock) in order.

    SHB body: byte-order magic 0x1A2B3C4D (4) | major 1 (2) | minor 0 (2) | section length (8, the
    real length of the blocks after the SHB, or -1 when `section_length_unknown`) | options.
    Interfaces are numbered from 0 in the order their Interface blocks appear in this section.
    """

    blocks: list[Interface | Packet | CustomBlock | RawBlock] = field(default_factory=list)
    big_endian: bool = False
    section_length_unknown: bool = False
    options: list[tuple[int, bytes]] = field(default_factory=list)

    def encode(self) -> bytes:
        e = ">" if self.big_endian else "<"
        interfaces: list[Interface] = []
        body = bytearray()
        for block in self.blocks:
            if isinstance(block, Interface):
                interfaces.append(block)
                body += block.encode(e)
            else:
                body += block.encode(e, interfaces)
        length = -1 if self.section_length_unknown else len(body)
        shb = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, length) + _options(e, self.options)
        return _block(e, 0x0A0D0D0A, shb) + bytes(body)


def pcapng_file(sections: Sequence[Section]) -> bytes:
    """A pcapng file: the sections one after the other (each may have its own byte order)."""
    return b"".join(section.encode() for section in sections)


def gzip_bytes(data: bytes) -> bytes:
    """gzip-compressed bytes (mtime 0, so the output is deterministic)."""
    return gzip.compress(data, mtime=0)


@dataclass
class InterfaceStats:
    """An Interface Statistics Block (type 5).

    Body: interface id (4) | timestamp high (4) | low (4), in the interface's units | options:
    isb_starttime (2) and isb_endtime (3), 8 bytes each as high (4) | low (4) timestamp units;
    isb_ifrecv (4), isb_ifdrop (5), isb_filteraccept (6), isb_osdrop (7), isb_usrdeliv (8), u64 each.
    Counters left None are not written.
    """

    iface: int = 0
    ts: float = 0.0
    start: float | None = None
    end: float | None = None
    ifrecv: int | None = None
    ifdrop: int | None = None
    filteraccept: int | None = None
    osdrop: int | None = None
    usrdeliv: int | None = None

    def encode(self, e: str, interfaces: Sequence[Interface]) -> bytes:
        num, _ = interfaces[self.iface].units_per_second() if self.iface < len(interfaces) else (10**6, 1)

        def stamp(t: float) -> tuple[int, int]:
            units = int(round(t * num))
            return units >> 32, units & 0xFFFFFFFF

        opts: list[tuple[int, bytes]] = []
        for code, t in ((2, self.start), (3, self.end)):
            if t is not None:
                opts.append((code, struct.pack(e + "II", *stamp(t))))
        for code, n in ((4, self.ifrecv), (5, self.ifdrop), (6, self.filteraccept), (7, self.osdrop),
                        (8, self.usrdeliv)):
            if n is not None:
                opts.append((code, struct.pack(e + "Q", n)))
        body = struct.pack(e + "III", self.iface, *stamp(self.ts)) + _options(e, opts)
        return _block(e, 5, body)
