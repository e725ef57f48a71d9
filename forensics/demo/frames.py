"""PacketPlan -> pcap bytes, vectorised.

Packets are grouped by layout (IPv4/IPv6, tagged or not, transport, application bytes); each group's
headers are built as one (n, header length) byte matrix with numpy and scattered into the chunk's
buffer. Payload bytes after the fixed application bytes are zero, which lets every checksum (IPv4
header, TCP, UDP, ICMP, ICMPv6) be correct while computed from the header matrix alone.

Output: classic libpcap, little-endian, microsecond timestamps, LINKTYPE_ETHERNET, snaplen 65535.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensics.demo.dns import ROGUE_NAME, answer_address, qname_template, rogue_labels
from forensics.demo.office import hex_as_decimal
from forensics.demo.packets import (
    APP_DNS_QUERY,
    APP_DNS_RESPONSE,
    APP_ECHO_REPLY,
    APP_ECHO_REQUEST,
    APP_NTP,
    APP_NTP_REPLY,
    ICMP,
    ICMP6,
    TCP,
    UDP,
    PacketPlan,
)

PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
RECORD_HEADER = 16
MIN_FRAME = 60
ECHO_PAYLOAD = bytes(range(0x08, 0x40))  # 56 bytes, as Linux ping
ROUTER_MAC_LOW = 0x0A0A0001  # 02:00:0a:0a:00:01, the office gateway: MAC of every internet address
_DNS_ANSWER = bytes.fromhex("c00c000100010000012c0004")

_L4_LEN = {TCP: 20, UDP: 8, ICMP: 8, ICMP6: 8}
_PCODE = {TCP: 0, UDP: 1, ICMP: 2, ICMP6: 2}


def _app_len(app: int, name_id: int) -> int:
    if app in (APP_ECHO_REQUEST, APP_ECHO_REPLY):
        return len(ECHO_PAYLOAD)
    if app in (APP_NTP, APP_NTP_REPLY):
        return 48
    if app == APP_DNS_QUERY:
        return 12 + len(qname_template(name_id)) + 4
    if app == APP_DNS_RESPONSE:
        return 12 + len(qname_template(name_id)) + 4 + len(_DNS_ANSWER) + 4
    return 0


def _name_ids(plan: PacketPlan) -> np.ndarray:
    dns = (plan.app == APP_DNS_QUERY) | (plan.app == APP_DNS_RESPONSE)
    return np.where(dns, plan.aux >> np.uint64(48), 0).astype(np.int64)


def _layout_keys(plan: PacketPlan) -> np.ndarray:
    pcode = np.where(plan.proto == TCP, 0, np.where(plan.proto == UDP, 1, 2))
    return (plan.v6.astype(np.int64) | (plan.vlan > 0).astype(np.int64) << 1 | pcode << 2
            | plan.app.astype(np.int64) << 4 | _name_ids(plan) << 8)


def _fixed_len(key: int) -> int:
    v6, tagged, pcode, app, name_id = key & 1, key >> 1 & 1, key >> 2 & 3, key >> 4 & 15, key >> 8
    l4 = (20, 8, 8)[pcode]
    return 14 + 4 * tagged + (40 if v6 else 20) + l4 + _app_len(app, name_id)


def lengths(plan: PacketPlan) -> tuple[np.ndarray, np.ndarray]:
    """(frame length on the wire with Ethernet padding to 60, IP-layer length) of every packet."""
    keys = _layout_keys(plan)
    uniq, inv = np.unique(keys, return_inverse=True)
    fixed = np.array([_fixed_len(int(k)) for k in uniq], np.int64)[inv] + plan.paylen
    return np.maximum(fixed, MIN_FRAME), fixed - 14 - 4 * (plan.vlan > 0)


def _put(m: np.ndarray, col: int, values: np.ndarray, nbytes: int) -> None:
    v = values.astype(np.uint64)
    for j in range(nbytes):
        m[:, col + j] = (v >> np.uint64(8 * (nbytes - 1 - j))) & np.uint64(0xFF)


def _word_sum(m: np.ndarray, a: int, b: int) -> np.ndarray:
    seg = m[:, a:b].astype(np.uint64)
    if (b - a) % 2:
        seg = np.concatenate([seg, np.zeros((len(seg), 1), np.uint64)], axis=1)
    return ((seg[:, 0::2] << np.uint64(8)) | seg[:, 1::2]).sum(axis=1)


def _checksum(total: np.ndarray) -> np.ndarray:
    s = total.astype(np.uint64)
    for _ in range(4):
        s = (s & np.uint64(0xFFFF)) + (s >> np.uint64(16))
    return ~s & np.uint64(0xFFFF)


def _is_home(hi: np.ndarray, lo: np.ndarray, v6: bool) -> np.ndarray:
    if v6:
        return (hi >> np.uint64(16)) == np.uint64(0xFD00_000A_000A)
    return (lo >> np.uint64(16)) == np.uint64(0xFFFF_0A0A)


def _mac_low(hi: np.ndarray, lo: np.ndarray, v6: bool) -> np.ndarray:
    """Last four MAC bytes: a host's IPv4 address (its IPv6 twin maps to the same), else the gateway."""
    home = _is_home(hi, lo, v6)
    if v6:  # fd00:a:a:S::H is the twin of 10.10.S.H (decimal digits written as hex, see office.py)
        own = np.uint64(0x0A0A0000) | hex_as_decimal(hi & np.uint64(0xFFF)) << np.uint64(8) \
            | hex_as_decimal(lo & np.uint64(0xFFF))
    else:
        own = lo & np.uint64(0xFFFFFFFF)
    return np.where(home, own, np.uint64(ROUTER_MAC_LOW))


def _ttl(hi: np.ndarray, lo: np.ndarray, v6: bool) -> np.ndarray:
    """Office clients 128 (Windows), office servers 64, internet hosts 64 minus 5..24 hops."""
    home = _is_home(hi, lo, v6)
    subnet = (hi if v6 else (lo >> np.uint64(8))) & np.uint64(0xFF)
    with np.errstate(over="ignore"):
        hops = np.uint64(5) + (lo * np.uint64(2654435761) >> np.uint64(7)) % np.uint64(20)
    return np.where(home, np.where(subnet == 0, 64, 128), np.uint64(64) - hops)


def _headers(p: PacketPlan, key: int, ip_id: np.ndarray) -> np.ndarray:
    """The (n, fixed length) header matrix of one layout group."""
    v6, tagged, pcode, app, name_id = bool(key & 1), key >> 1 & 1, key >> 2 & 3, key >> 4 & 15, key >> 8
    n = len(p)
    e = 14 + 4 * tagged
    t = e + (40 if v6 else 20)
    a = t + (20, 8, 8)[pcode]
    h = a + _app_len(app, name_id)
    m = np.zeros((n, h), np.uint8)
    m[:, 0] = m[:, 6] = 0x02
    _put(m, 2, _mac_low(p.dst_hi, p.dst_lo, v6), 4)
    _put(m, 8, _mac_low(p.src_hi, p.src_lo, v6), 4)
    if tagged:
        m[:, 12], m[:, 13] = 0x81, 0x00
        _put(m, 14, p.vlan, 2)
    m[:, e - 2], m[:, e - 1] = (0x86, 0xDD) if v6 else (0x08, 0x00)
    l4_len = (h - t) + p.paylen.astype(np.int64)
    proto = int(p.proto[0])
    ttl = _ttl(p.src_hi, p.src_lo, v6)
    if v6:
        m[:, e] = 0x60
        _put(m, e + 4, l4_len, 2)
        m[:, e + 6] = proto
        m[:, e + 7] = ttl
        _put(m, e + 8, p.src_hi, 8)
        _put(m, e + 16, p.src_lo, 8)
        _put(m, e + 24, p.dst_hi, 8)
        _put(m, e + 32, p.dst_lo, 8)
        pseudo = _word_sum(m, e + 8, e + 40) + (l4_len.astype(np.uint64) >> np.uint64(16)) \
            + (l4_len.astype(np.uint64) & np.uint64(0xFFFF)) + np.uint64(proto)
    else:
        m[:, e] = 0x45
        _put(m, e + 2, 20 + l4_len, 2)
        _put(m, e + 4, ip_id, 2)
        if proto == TCP:
            m[:, e + 6] = 0x40  # don't fragment
        m[:, e + 8] = ttl
        m[:, e + 9] = proto
        _put(m, e + 12, p.src_lo, 4)
        _put(m, e + 16, p.dst_lo, 4)
        _put(m, e + 10, _checksum(_word_sum(m, e, e + 20)), 2)
        pseudo = _word_sum(m, e + 12, e + 20) + l4_len.astype(np.uint64) + np.uint64(proto)
    if pcode == 0:  # TCP
        _put(m, t, p.sport, 2)
        _put(m, t + 2, p.dport, 2)
        _put(m, t + 4, p.seq, 4)
        _put(m, t + 8, p.ack, 4)
        m[:, t + 12] = 0x50
        m[:, t + 13] = p.flags
        m[:, t + 14], m[:, t + 15] = 0xFA, 0xF0  # window 64240
        csum_at = t + 16
    elif pcode == 1:  # UDP
        _put(m, t, p.sport, 2)
        _put(m, t + 2, p.dport, 2)
        _put(m, t + 4, l4_len, 2)
        csum_at = t + 6
        _fill_udp_app(m, p, a, app, name_id)
    else:  # ICMP / ICMPv6 echo
        request = app == APP_ECHO_REQUEST
        m[:, t] = (128 if request else 129) if v6 else (8 if request else 0)
        _put(m, t + 4, p.sport, 2)
        _put(m, t + 6, p.dport, 2)
        m[:, a:h] = np.frombuffer(ECHO_PAYLOAD, np.uint8)
        csum_at = t + 2
        if not v6:
            pseudo = np.zeros(n, np.uint64)  # ICMPv4 has no pseudo-header
    csum = _checksum(pseudo + _word_sum(m, t, h))
    if pcode == 1:
        csum = np.where(csum == 0, np.uint64(0xFFFF), csum)
    _put(m, csum_at, csum, 2)
    return m


def _fill_udp_app(m: np.ndarray, p: PacketPlan, a: int, app: int, name_id: int) -> None:
    if app in (APP_NTP, APP_NTP_REPLY):
        m[:, a] = 0x23 if app == APP_NTP else 0x24  # LI 0, version 4, mode 3 client / 4 server
        m[:, a + 1] = 0 if app == APP_NTP else 2  # stratum
        m[:, a + 2], m[:, a + 3] = 6, 0xEC  # poll 64 s, precision
        return
    if app not in (APP_DNS_QUERY, APP_DNS_RESPONSE):
        return
    response = app == APP_DNS_RESPONSE
    qname = qname_template(name_id)
    _put(m, a, p.aux & np.uint64(0xFFFF), 2)  # transaction id
    m[:, a + 2], m[:, a + 3] = (0x81, 0x80) if response else (0x01, 0x00)
    m[:, a + 5] = 1  # one question
    m[:, a + 7] = 1 if response else 0
    q = a + 12
    m[:, q:q + len(qname)] = np.frombuffer(qname, np.uint8)
    if name_id == ROGUE_NAME:
        m[:, q + 1:q + 1 + 32] = rogue_labels(p.aux)
    r = q + len(qname)
    m[:, r + 1] = 1  # type A
    m[:, r + 3] = 1  # class IN
    if response:
        m[:, r + 4:r + 4 + len(_DNS_ANSWER)] = np.frombuffer(_DNS_ANSWER, np.uint8)
        _put(m, r + 4 + len(_DNS_ANSWER), answer_address(p.aux), 4)


def encode(plan: PacketPlan, ip_id_base: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(pcap record bytes for every packet of the plan, frame lengths). The plan is in file order."""
    n = len(plan)
    keys = _layout_keys(plan)
    uniq, inv = np.unique(keys, return_inverse=True)
    fixed = np.array([_fixed_len(int(k)) for k in uniq], np.int64)[inv]
    flen = np.maximum(fixed + plan.paylen, MIN_FRAME)
    rec_off = np.cumsum(RECORD_HEADER + flen) - (RECORD_HEADER + flen)
    buf = np.zeros(int((RECORD_HEADER + flen).sum()), np.uint8)
    rec = np.empty((n, 4), "<u4")
    rec[:, 0] = plan.ts_us // 1_000_000
    rec[:, 1] = plan.ts_us % 1_000_000
    rec[:, 2] = flen
    rec[:, 3] = flen
    buf[rec_off[:, None] + np.arange(RECORD_HEADER)] = rec.view(np.uint8).reshape(n, RECORD_HEADER)
    ip_id = (np.arange(n, dtype=np.int64) + ip_id_base) & 0xFFFF
    order = np.argsort(inv, kind="stable")
    bounds = np.searchsorted(inv[order], np.arange(len(uniq) + 1))
    for g, key in enumerate(uniq):
        idx = order[bounds[g]:bounds[g + 1]]
        m = _headers(plan.take(idx), int(key), ip_id[idx])
        buf[(rec_off[idx] + RECORD_HEADER)[:, None] + np.arange(m.shape[1])] = m
    return buf, flen


@dataclass
class WrittenCapture:
    """What write_pcap wrote."""

    path: Path
    packets: int
    wire_bytes: int
    size_bytes: int
    sha256: str | None  # None when written with digest=False


def write_pcap(path: Path, chunks: Iterable[PacketPlan], chunk_rows: int = 65_536,
               digest: bool = True) -> WrittenCapture:
    """Write plans (each in file order, consecutive in time) as one pcap, `chunk_rows` packets at a time.

    With digest=False the sha256 is not computed (a quarter of the time on large captures).
    """
    sha = hashlib.sha256(PCAP_HEADER) if digest else None
    packets = wire = 0
    size = len(PCAP_HEADER)
    with open(path, "wb") as fh:
        fh.write(PCAP_HEADER)
        for plan in chunks:
            for lo in range(0, len(plan), chunk_rows):
                part = plan.take(slice(lo, lo + chunk_rows))
                buf, flen = encode(part, ip_id_base=packets)
                data = buf.data
                fh.write(data)
                if sha is not None:
                    sha.update(data)
                packets += len(part)
                wire += int(flen.sum())
                size += len(buf)
    return WrittenCapture(Path(path), packets, wire, size, sha.hexdigest() if sha is not None else None)
