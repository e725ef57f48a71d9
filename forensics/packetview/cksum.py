"""The Internet checksum (RFC 1071) and the TCP/UDP pseudo-headers, for -v's checksum notes."""

from __future__ import annotations

import struct


def inet_sum(data: bytes, start: int = 0) -> int:
    """One's-complement sum folded to 16 bits (not inverted)."""
    if len(data) % 2:
        data += b"\x00"
    total = start + sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def pseudo_sum(src: bytes, dst: bytes, proto: int, length: int) -> int:
    """Sum of the IPv4 or IPv6 pseudo-header for a transport segment of `length` bytes."""
    if len(src) == 4:
        head = src + dst + struct.pack(">BBH", 0, proto, length)
    else:
        head = src + dst + struct.pack(">IxxxB", length, proto)
    return inet_sum(head)


def transport_ok(src: bytes, dst: bytes, proto: int, segment: bytes) -> tuple[bool, int]:
    """(checksum correct, the value it should have) for a whole TCP/UDP segment as captured."""
    total = inet_sum(segment, pseudo_sum(src, dst, proto, len(segment)))
    ok = total == 0xFFFF
    stored = struct.unpack_from(">H", segment, 16 if proto == 6 else 6)[0]
    # tcpdump's in_cksum_shouldbe: the value that would have made the sum come out right.
    rest = inet_sum(segment[:16 if proto == 6 else 6] + b"\x00\x00" + segment[18 if proto == 6 else 8:],
                    pseudo_sum(src, dst, proto, len(segment)))
    should = (~rest) & 0xFFFF
    return ok, (should if not ok else stored)
