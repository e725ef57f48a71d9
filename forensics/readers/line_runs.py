"""Text flow files a block of whole lines at a time: where each line starts and ends, and runs of lines read as
columns, halved around the lines the columns cannot read, which are read a line at a time (the readers of
forensics/readers/zeek_columns.py, eve_columns.py and nfdump_csv_columns.py share this)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from forensics.records import FlowColumns

# a run the columns cannot read is halved down to this many lines, then read a line at a time: a log with one
# odd line stays fast
SPLIT_LINES = 64


def line_bounds(block: bytes) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the lines of `block`: byte offsets, each end past its newline (or the block's end)."""
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10) + 1
    if not len(ends) or ends[-1] != len(block):
        ends = np.append(ends, len(block))
    return np.concatenate([[0], ends[:-1]]).astype(np.int64), ends.astype(np.int64)


def runs(block: bytes, starts: np.ndarray, ends: np.ndarray, i: int, j: int, first_lineno: int,
         as_columns: Callable[[memoryview, int, int], FlowColumns | None],
         by_line: Callable[[bytes, int], Iterator[dict]]) -> Iterator[FlowColumns | list[dict]]:
    """The records of lines i..j-1 of `block` (line k numbered first_lineno + k): as_columns(the lines, the first
    one's number, how many) where it reads them, else by_line(a line, its number) for each line of the runs it
    cannot read, halved down to SPLIT_LINES lines."""
    cols = as_columns(memoryview(block)[starts[i]:ends[j - 1]], first_lineno + i, j - i)
    if cols is not None:
        if cols.rows:
            yield cols
        return
    if j - i > SPLIT_LINES:
        mid = (i + j) // 2
        yield from runs(block, starts, ends, i, mid, first_lineno, as_columns, by_line)
        yield from runs(block, starts, ends, mid, j, first_lineno, as_columns, by_line)
        return
    out = [rec for k in range(i, j) for rec in by_line(block[starts[k]:ends[k]], first_lineno + k)]
    if out:
        yield out


def all_lines(blocks: Iterable[bytes], as_columns: Callable[[memoryview, int, int], FlowColumns | None],
              by_line: Callable[[bytes, int], Iterator[dict]]) -> Iterator[FlowColumns | list[dict]]:
    """runs() over every line of blocks of whole lines (a file whose every line is a record: JSON lines), the
    lines numbered from 1."""
    lineno = 0
    for block in blocks:
        starts, ends = line_bounds(block)
        yield from runs(block, starts, ends, 0, len(starts), lineno + 1, as_columns, by_line)
        lineno += len(starts)


__all__ = ["SPLIT_LINES", "all_lines", "line_bounds", "runs"]
