"""Exported flow records (dicts) -> the Arrow table the flows insert reads, with every value in range.

The common case costs one vectorised min/max per column: only a batch with a value its column
cannot hold (forensics.store.flow_values.RANGES) is checked record by record, and those records
are left out and returned, so that the caller counts them as invalid.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from forensics.records import FlowColumns
from forensics.store.flow_values import RANGES, REQUIRED, flow_value_problem, split_valid
from forensics.store.nulls import null_column

ADDR_COLS = ("exporter_ip", "src_ip", "dst_ip", "next_hop")
PLAIN_COLS = [
    "source", "record_pos", "observation_domain", "first_ts_us", "last_ts_us", "ip_version", "ip_proto",
    "src_port", "dst_port", "icmp_type", "icmp_code", "vlan", "in_if", "out_if", "src_as", "dst_as", "direction",
    "tos", "tcp_flags", "packets", "bytes", "sampling_rate",
]
_UNSIGNED = {"packets", "bytes", "observation_domain", "in_if", "out_if", "src_as", "dst_as"}
TYPES = {k: pa.string() if k == "source" else pa.uint64() if k in _UNSIGNED else pa.int64() for k in PLAIN_COLS}
_MASK = 2**64 - 1

Rejected = list[tuple[dict, str, str]]  # (record, column, what is wrong)


def flow_record_table(records: list[dict]) -> tuple[pa.Table, Rejected]:
    """The records that fit their columns as one table, and the ones that do not."""
    table = _table_if_in_range(records)
    if table is not None:
        return table, []
    good, bad = split_valid(records)
    return _table(good), bad


def _table(records: list[dict]) -> pa.Table:
    arrays: dict[str, pa.Array] = {}
    for k in PLAIN_COLS:
        arrays[k] = pa.array([r.get(k) for r in records], type=TYPES[k])
    for addr in ADDR_COLS:
        values = [r.get(addr) for r in records]
        arrays[addr + "_hi"] = pa.array([None if v is None else v >> 64 for v in values], type=pa.uint64())
        arrays[addr + "_lo"] = pa.array([None if v is None else v & _MASK for v in values], type=pa.uint64())
    return pa.table(arrays)


def flow_columns_table(cols: FlowColumns) -> tuple[pa.Table, Rejected]:
    """flow_record_table for records decoded as columns (forensics.readers.flow_columns): the same table."""
    arrays: dict[str, pa.Array] = {}
    for k in PLAIN_COLS:
        arrays[k] = _column(cols, k, TYPES[k])
    for addr in ADDR_COLS:
        for half in ("_hi", "_lo"):
            arrays[addr + half] = _column(cols, addr, pa.uint64(), addr + half)
    table = pa.table(arrays)
    if _in_range(table):
        return table, []
    # some value does not fit: the rows that surely fit stay as they are, the others are checked record by record
    # (flow_value_problem decides), in order (a whole batch as dicts: ~10 us a record)
    ok = _rows_in_range(table)
    suspects = np.flatnonzero(~ok)
    bad: Rejected = []
    for at, rec in zip(suspects.tolist(), table_records(table.take(pa.array(suspects))), strict=True):
        problem = flow_value_problem(rec)
        if problem is None:
            ok[at] = True
        else:
            bad.append((rec, *problem))
    return table.filter(pa.array(ok)), bad


def _column(cols: FlowColumns, key: str, arrow_type: pa.DataType, name: str | None = None) -> pa.Array:
    if key == "source":
        return pa.array([cols.source] * cols.rows, type=arrow_type)
    values = cols.values.get(name or key)
    if values is None:
        return null_column(cols.rows, arrow_type)
    values = values.astype(arrow_type.to_pandas_dtype(), copy=False)
    valid = cols.valid.get(key)
    return pa.array(values, type=arrow_type, mask=None if valid is None else ~valid)


def table_records(table: pa.Table) -> list[dict]:
    """The rows of a flow_record_table-shaped table back as record dicts (addresses whole again)."""
    data = table.to_pydict()
    for addr in ADDR_COLS:
        hi, lo = data.pop(addr + "_hi"), data.pop(addr + "_lo")
        data[addr] = [None if h is None else (h << 64) | low for h, low in zip(hi, lo, strict=True)]
    keys = list(data)
    return [dict(zip(keys, row, strict=True)) for row in zip(*data.values(), strict=True)]


def _table_if_in_range(records: list[dict]) -> pa.Table | None:
    """The table when every value fits (checked per column, vectorised); None when one does not."""
    try:
        table = _table(records)
    except (OverflowError, TypeError, ValueError, pa.ArrowException):  # a value beyond 64 bits, or not a number
        return None
    return table if _in_range(table) else None


def _rows_in_range(table: pa.Table) -> np.ndarray:
    """Per row: every value fits its flows column (_in_range row by row; False is rechecked by the caller)."""
    n = len(table)
    ok = np.ones(n, bool)
    for k in REQUIRED:
        ok &= ~np.asarray(table[k].is_null().to_numpy(zero_copy_only=False), bool)
    for k in PLAIN_COLS:
        if k == "source":
            continue
        column = table[k]
        lo, hi = RANGES[k]
        present = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), bool)
        values = np.asarray(column.fill_null(0).to_numpy(zero_copy_only=False))
        if values.dtype == np.uint64:
            fits = values <= np.uint64(min(hi, _MASK))
        else:
            fits = (values >= max(lo, -(2**63))) & (values <= min(hi, 2**63 - 1))
        ok &= ~present | fits
    rate = np.asarray(table["sampling_rate"].fill_null(1).to_numpy(zero_copy_only=False)).astype(np.uint64)
    rate = np.where(rate == 0, np.uint64(1), rate)
    for k in ("packets", "bytes"):
        values = np.asarray(table[k].fill_null(0).to_numpy(zero_copy_only=False)).astype(np.uint64)
        ok &= values <= np.uint64(_MASK) // rate
    return ok


def _in_range(table: pa.Table) -> bool:
    """Every value of the table fits its flows column."""
    import pyarrow.compute as pc
    if not len(table):
        return table
    for k in REQUIRED:
        if table[k].null_count:
            return False
    for k in PLAIN_COLS:
        if k == "source" or table[k].null_count == len(table):
            continue
        lo, hi = RANGES[k]
        mm = pc.min_max(table[k]).as_py()
        if mm["min"] < lo or mm["max"] > hi:
            return False
    rate = pc.fill_null(table["sampling_rate"], 1).cast(pa.uint64())
    try:
        pc.multiply_checked(table["packets"], rate)
        pc.multiply_checked(table["bytes"], rate)
    except pa.ArrowInvalid:  # packets_scaled / bytes_scaled would overflow UBIGINT
        return False
    return True
