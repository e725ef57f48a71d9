"""Address text as columns: textflows.parse_addr over an Arrow string array, each distinct text read once,
dotted quads as arrays (the rest, IPv6 and anything odd, by parse_addr itself)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forensics.netaddr import V4_MAPPED
from forensics.readers.textflows import parse_addr

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# what ipaddress reads as IPv4 (no leading zeros, no spaces), matched by Arrow's RE2
DOTTED = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"
_MASK64 = (1 << 64) - 1


def parse_addresses(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hi, lo, valid): the halves of parse_addr(x) for each x of `text` (uint64), valid False where it is None
    (NULL, empty, '-' or unreadable)."""
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    words = encoded.dictionary
    u_hi = np.zeros(len(words) + 1, np.uint64)
    u_lo = np.zeros(len(words) + 1, np.uint64)
    u_ok = np.zeros(len(words) + 1, bool)
    dotted = np.asarray(pc.match_substring_regex(words, DOTTED).to_numpy(zero_copy_only=False), bool)
    if dotted.any():
        quads = pc.list_flatten(pc.split_pattern(words.filter(pa.array(dotted)), ".")).cast(pa.uint64())
        q = quads.to_numpy().reshape(-1, 4)
        u_lo[:-1][dotted] = (q[:, 0] << np.uint64(24) | q[:, 1] << np.uint64(16) | q[:, 2] << np.uint64(8)
                             | q[:, 3]) | np.uint64(V4_MAPPED)
        u_ok[:-1][dotted] = True
    for i in np.flatnonzero(~dotted).tolist():
        value = parse_addr(words[i].as_py())
        if value is not None:
            u_hi[i], u_lo[i], u_ok[i] = value >> 64, value & _MASK64, True
    at = np.asarray(encoded.indices.fill_null(len(words)).to_numpy(zero_copy_only=False), np.int64)
    return u_hi[at], u_lo[at], u_ok[at]


__all__ = ["DOTTED", "parse_addresses"]
