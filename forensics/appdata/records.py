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
