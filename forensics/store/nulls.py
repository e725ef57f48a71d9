"""Columns of NULLs for the store's Arrow tables, made once per type and sliced after.

    null_column(491_520, pa.uint64())   # the same memory for every batch that has no such values

Most packet batches have whole columns of NULLs (vlan_inner, mpls_label, the ARP fields), and so does every
derived-flow part (exporter, interfaces, AS numbers). `pa.nulls` allocates and zeroes a fresh buffer each time
(3.9 MB for a batch's uint64 column): on the 2M-packet bench capture that was ~0.1 s of memset and as much again
in the kernel zeroing the new pages, on the decode thread. Arrow arrays are immutable, so one array per type,
sliced to the length asked (no copy), serves every batch; the longest seen is kept (a few MB per type).
"""

from __future__ import annotations

import threading

import pyarrow as pa

_made: dict[pa.DataType, pa.Array] = {}
_lock = threading.Lock()


def null_column(length: int, arrow_type: pa.DataType) -> pa.Array:
    """A column of `length` NULLs of `arrow_type` (a slice of a kept array: read-only, as every Arrow array)."""
    with _lock:
        kept = _made.get(arrow_type)
        if kept is None or len(kept) < length:
            kept = _made[arrow_type] = pa.nulls(length, arrow_type)
    return kept if len(kept) == length else kept.slice(0, length)


__all__ = ["null_column"]
