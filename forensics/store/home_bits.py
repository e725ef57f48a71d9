"""Whether each end of a flow is in a home network, stored with the flow in a lake's flows parts.

Reports ask `is_home(src_ip)` and `is_home(dst_ip)` of every flow (protocol_mix's in and out, for one). On a lake
that means reading both address columns, rebuilding 128-bit addresses and testing each home block, for every flow
of every report. An import knows the home blocks of the case's config (forensics.toml beside the case, else the
defaults), so it writes the two answers as the BOOLEAN columns `src_home` and `dst_home` of each flows part, and
keeps the blocks' fingerprint per capture in the catalog table `flow_home_bits`. A report reads the columns only
when every capture of the case was imported under the home blocks it runs with (forensics/reports/traffic.py
`home_bits_usable`); otherwise, and for parts written before the columns existed, it tests the addresses as
before. The same test as is_home in queries/reports/_context.sql: an address is home when it lies in a block
[lo, hi] (both ends included, 128-bit, IPv4 as ::ffff:a.b.c.d); a NULL address is not home.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import pyarrow as pa

_MASK64 = (1 << 64) - 1


def home_ranges(blocks: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """The home blocks as sorted, distinct (lo, hi) pairs of 128-bit integers."""
    return tuple(sorted({(int(lo), int(hi)) for lo, hi in blocks}))


def home_fingerprint(ranges: tuple[tuple[int, int], ...]) -> str:
    """A short digest of the home blocks, kept per capture with the bits computed under them."""
    text = ";".join(f"{lo:032x}-{hi:032x}" for lo, hi in home_ranges(ranges))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _halves(values: pa.Array | pa.ChunkedArray | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uint64 values, valid mask) of an address half column."""
    if isinstance(values, np.ndarray):
        return values.astype(np.uint64, copy=False), np.ones(len(values), np.bool_)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    valid = np.ones(len(values), np.bool_) if values.null_count == 0 else \
        np.asarray(values.is_valid().to_numpy(zero_copy_only=False), np.bool_)
    return np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False), np.uint64), valid


def home_bits(hi: pa.Array | pa.ChunkedArray | np.ndarray, lo: pa.Array | pa.ChunkedArray | np.ndarray,
              ranges: tuple[tuple[int, int], ...]) -> pa.BooleanArray:
    """For each address given by its high and low 64-bit halves: in one of the `ranges` (never NULL)."""
    h, h_ok = _halves(hi)
    low, l_ok = _halves(lo)
    out = np.zeros(len(h), np.bool_)
    same_high: dict[int, np.ndarray] = {}  # h == value, once per value (every IPv4 block's high half is 0)
    for first, last in ranges:
        fh, fl = first >> 64, np.uint64(first & _MASK64)
        lh, ll = last >> 64, np.uint64(last & _MASK64)
        if fh == lh:  # within one high half: IPv4 blocks, IPv6 blocks of /64 or longer
            if fh not in same_high:
                same_high[fh] = h == np.uint64(fh)
            out |= same_high[fh] & (low >= fl) & (low <= ll)
        else:
            above = (h > np.uint64(fh)) | ((h == np.uint64(fh)) & (low >= fl))
            below = (h < np.uint64(lh)) | ((h == np.uint64(lh)) & (low <= ll))
            out |= above & below
    out &= h_ok & l_ok
    return pa.array(out, pa.bool_())


def home_column(hi: pa.Array | pa.ChunkedArray | np.ndarray, lo: pa.Array | pa.ChunkedArray | np.ndarray,
                ranges: tuple[tuple[int, int], ...] | None) -> pa.Array:
    """home_bits of the addresses, or all NULL when `ranges` is None (the blocks are not known: a conversion, a
    case config that does not load)."""
    return pa.nulls(len(hi), pa.bool_()) if ranges is None else home_bits(hi, lo, ranges)


def home_sql(column: str, ranges: tuple[tuple[int, int], ...] | list[tuple[int, int]]) -> str:
    """SQL that `column` (a UHUGEINT address) is in one of `ranges`: literal bounds (only integers reach the text),
    false for none and for NULL. The reports' is_home (forensics/reports/context.py) and a single-file case's
    rollups (forensics/store/flow_rollup.py) test home with it."""
    tests = " OR ".join(f"{column} BETWEEN CAST({int(lo)} AS UHUGEINT) AND CAST({int(hi)} AS UHUGEINT)"
                        for lo, hi in ranges)
    return f"coalesce({tests or 'false'}, false)"


def with_home_bits(table: pa.Table, ranges: tuple[tuple[int, int], ...] | None) -> pa.Table:
    """`table` (flows in the Parquet layout, without the two columns) with src_home and dst_home appended."""
    for end in ("src", "dst"):
        table = table.append_column(f"{end}_home", home_column(table.column(f"{end}_ip_hi"),
                                                               table.column(f"{end}_ip_lo"), ranges))
    return table


__all__ = ["home_bits", "home_column", "home_fingerprint", "home_ranges", "home_sql", "with_home_bits"]
