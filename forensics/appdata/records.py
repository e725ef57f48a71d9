"""Packet bytes read back from a capture file at the offsets the import recorded (packets.file_offset).

pcap: a 16-byte record header (24 for the modified-libpcap magic) then caplen bytes; pcapng: an
enhanced (6) or obsolete (2) packet block has its data at +28, a simple one (3) at +12. `+gzip`
files are read by decompressing forward, so offsets must come in ascending order (they do: frames).
"""

from __future__ import annotations

import gzip
import mmap
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np

from forensics.readers.exact import decode_packet

MODIFIED_MAGICS = (b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34")


def read_frames(path: str, fmt: str, refs: Iterable[tuple[int, int]]) -> Iterator[bytes]:
    """The captured bytes of each (file_offset, caplen), in the given (ascending) order.

    A record that is not where the case says (file changed since) yields b'' rather than failing the import.
    """
    gz = fmt.endswith("+gzip")
    pcapng = fmt.startswith("pcapng")
    with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
        head = f.read(4)
        skip = 24 if head in MODIFIED_MAGICS else 16
        if gz:
            yield from _stream(f, refs, pcapng, skip)
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            for off, caplen in refs:
                if pcapng:
                    btype = m[off] if m[off + 1:off + 4] == b"\0\0\0" else m[off + 3]
                    start = off + (12 if btype == 3 else 28)
                else:
                    start = off + skip
                yield m[start:start + caplen]


def _stream(f: BinaryIO, refs: Iterable[tuple[int, int]], pcapng: bool, skip: int) -> Iterator[bytes]:
    for off, caplen in refs:
        f.seek(off)
        block = f.read(28 + caplen)
        if pcapng:
            btype = block[0] if block[1:4] == b"\0\0\0" else block[3]
            start = 12 if btype == 3 else 28
        else:
            start = skip
        yield block[start:start + caplen]


def transport_payload(linktype: int, data: bytes, wirelen: int, ip_proto: int, ip_len: int | None) -> bytes:
    """The TCP/UDP payload of one frame, without link-layer padding (Ethernet pads frames to 60 bytes):
    UDP cut to its length field, TCP to the IP length. Ethernet (untagged or one 802.1Q tag) with IPv4
    or IPv6 without extension headers is read here directly; anything else through the exact decoder
    (forensics.readers.exact), where the IP header is found back from the TCP header's data offset
    (with IPv6 extension headers in between, nothing is cut)."""
    fast = _ethernet_ip(data) if linktype == 1 else None
    if fast is not None:
        t, end = fast
        if ip_proto == 17:
            ulen = (data[t + 4] << 8) | data[t + 5] if t + 8 <= len(data) else 0
            return bytes(data[t + 8:min(end, t + ulen)]) if ulen >= 8 else bytes(data[t + 8:end])
        if t + 13 <= len(data):
            return bytes(data[t + (data[t + 12] >> 4) * 4:end])
        return b""
    po = decode_packet(linktype, data, wirelen)["payload_offset"]
    if po < 0:
        return b""
    if ip_proto == 17:
        ulen = (data[po - 4] << 8) | data[po - 3]
        return bytes(data[po:po - 8 + ulen]) if ulen >= 8 else bytes(data[po:])
    end = _ip_end(data, po, ip_len)
    return bytes(data[po:end])


def _ethernet_ip(data: bytes) -> tuple[int, int] | None:
    """(transport header offset, IP end) for the common frames; None for the exact decoder to read."""
    if len(data) < 34:
        return None
    ip = 14
    etype = (data[12] << 8) | data[13]
    if etype == 0x8100:
        etype = (data[16] << 8) | data[17]
        ip = 18
    if etype == 0x0800 and len(data) >= ip + 20 and data[ip] >> 4 == 4:
        ihl = (data[ip] & 15) * 4
        if ihl < 20:
            return None
        return ip + ihl, min(len(data), ip + ((data[ip + 2] << 8) | data[ip + 3]))
    if etype == 0x86DD and len(data) >= ip + 40 and data[ip + 6] in (6, 17):
        return ip + 40, min(len(data), ip + 40 + ((data[ip + 4] << 8) | data[ip + 5]))
    return None


def _ip_end(data: bytes, po: int, ip_len: int) -> int:
    if ip_len is None:
        return len(data)
    for t in range(po - 20, max(po - 64, -1), -4):
        if (data[t + 12] >> 4) * 4 == po - t:
            break
    else:
        return len(data)
    if t >= 40 and data[t - 40] >> 4 == 6:
        return min(len(data), t - 40 + ip_len)
    for s in range(t - 20, max(t - 64, -1), -4):
        if data[s] == 0x40 | ((t - s) // 4):
            return min(len(data), s + ip_len)
    return len(data)


HEAD = 96  # frame bytes the vectorised offsets may read (Ethernet + tag + IPv4 options + TCP)


def frame_starts(buf: np.ndarray, fmt: str, offsets: np.ndarray) -> np.ndarray:
    """Where each record's captured bytes start in the (uncompressed) file `buf`, as read_frames reads them."""
    offsets = offsets.astype(np.int64)
    if fmt.startswith("pcapng"):
        zeros = (buf[offsets + 1] == 0) & (buf[offsets + 2] == 0) & (buf[offsets + 3] == 0)
        btype = np.where(zeros, buf[offsets], buf[offsets + 3])
        return offsets + np.where(btype == 3, 12, 28)
    skip = 24 if bytes(buf[:4]) in MODIFIED_MAGICS else 16
    return offsets + skip


def payload_spans(buf: np.ndarray, starts: np.ndarray, caplen: np.ndarray, linktype: np.ndarray,
                  ip_proto: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """transport_payload's Ethernet/IP fast path for every packet at once: (first, end) byte positions of each
    transport payload in `buf`, and a mask of the packets it covers (the others go through transport_payload)."""
    cap = caplen.astype(np.int64)
    last = len(buf) - 1

    def at(k: np.ndarray | int) -> np.ndarray:  # frame byte k of every packet (0 past its captured bytes)
        k = np.clip(k, 0, HEAD - 1)
        return np.where(k < cap, buf[np.minimum(starts + k, last)], 0).astype(np.int64)

    etype = at(12) << 8 | at(13)
    tagged = etype == 0x8100
    ip = np.where(tagged, 18, 14)
    etype = np.where(tagged, at(16) << 8 | at(17), etype)
    ver = at(ip) >> 4
    v4 = (etype == 0x0800) & (cap >= ip + 20) & (ver == 4)
    ihl = (at(ip) & 15) * 4
    v4 &= ihl >= 20
    v6 = (etype == 0x86DD) & (cap >= ip + 40) & np.isin(at(ip + 6), (6, 17))
    ok = (linktype == 1) & (cap >= 34) & (v4 | v6)
    t = np.where(v4, ip + ihl, ip + 40)
    iplen = np.where(v4, at(ip + 2) << 8 | at(ip + 3), 40 + (at(ip + 4) << 8 | at(ip + 5)))
    end = np.minimum(cap, ip + iplen)
    udp = ip_proto == 17
    ulen = np.where(t + 8 <= cap, at(t + 4) << 8 | at(t + 5), 0)
    udp_lo = t + 8
    udp_hi = np.where(ulen >= 8, np.minimum(end, t + ulen), end)
    tcp_ok = t + 13 <= cap
    tcp_lo = np.where(tcp_ok, t + (at(t + 12) >> 4) * 4, 0)
    tcp_hi = np.where(tcp_ok, end, 0)
    lo = np.where(udp, udp_lo, tcp_lo)
    hi = np.where(udp, udp_hi, tcp_hi)
    ok &= t + 14 <= HEAD  # every byte read above lies within the gathered head
    hi = np.maximum(hi, lo)
    return starts + lo, starts + hi, ok
