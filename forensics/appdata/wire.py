"""Shared helpers for the application parsers."""

from __future__ import annotations


class Malformed(ValueError):
    """The payload is the protocol's (its header says so) but a field runs past the end or is impossible."""


def u16(data: bytes, i: int) -> int:
    """Big-endian 16-bit value at i (Malformed when cut)."""
    if i + 2 > len(data):
        raise Malformed(f"cut at byte {i}")
    return (data[i] << 8) | data[i + 1]


def u32(data: bytes, i: int) -> int:
    """Big-endian 32-bit value at i (Malformed when cut)."""
    if i + 4 > len(data):
        raise Malformed(f"cut at byte {i}")
    return int.from_bytes(data[i:i + 4], "big")


V4_MAPPED = 0xFFFF << 32


def v4_mapped(raw: bytes) -> int:
    """A 4-byte IPv4 address as the case's UHUGEINT (::ffff:a.b.c.d)."""
    return V4_MAPPED | int.from_bytes(raw, "big")


def split128(value: int | None) -> tuple[int | None, int | None]:
    """A 128-bit address as (hi, lo) uint64 halves for Arrow (which has no 128-bit unsigned)."""
    if value is None:
        return None, None
    return value >> 64, value & 0xFFFFFFFFFFFFFFFF


def text(raw: bytes) -> str:
    """Protocol text as str: UTF-8 where valid, else each byte as its Latin-1 character (never raises)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
