"""Small text helpers shared by the printers: addresses, tcpdump's escaping of name bytes, token tables."""

from __future__ import annotations

import socket
import struct


def mac(b: bytes) -> str:
    """00:11:22:33:44:55."""
    return ":".join(f"{x:02x}" for x in b)


def ip4(b: bytes) -> str:
    """Dotted quad of 4 bytes."""
    return f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"


def ip6(b: bytes) -> str:
    """The text inet_ntop writes for 16 bytes (tcpdump's addrtostr6 follows the same rules)."""
    return socket.inet_ntop(socket.AF_INET6, bytes(b))


def printn(data: bytes) -> str:
    """tcpdump's nd_printn: 'M-' for bytes over 0x7f, '^X' for control characters."""
    out = []
    for c in data:
        if c > 0x7F:
            c &= 0x7F
            out.append("M-")
        if not 0x20 <= c < 0x7F:
            c ^= 0x40
            out.append("^")
        out.append(chr(c))
    return "".join(out)


def u16(b: bytes, off: int) -> int:
    """Big-endian 16-bit value at off (IndexError past the captured bytes, as for a single byte)."""
    if off + 2 > len(b):
        raise IndexError(off)
    return struct.unpack_from(">H", b, off)[0]


def u32(b: bytes, off: int) -> int:
    """Big-endian 32-bit value at off (IndexError past the captured bytes)."""
    if off + 4 > len(b):
        raise IndexError(off)
    return struct.unpack_from(">I", b, off)[0]


class Truncated(Exception):
    """The captured bytes end before a field the printer needs (tcpdump prints ' [|proto]')."""

    def __init__(self, proto: str) -> None:
        super().__init__(proto)
        self.proto = proto


def need(data: bytes, end: int, proto: str) -> None:
    """Raise Truncated when data holds fewer than `end` bytes."""
    if len(data) < end:
        raise Truncated(proto)
