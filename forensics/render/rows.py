"""Any query's rows as an aligned table, CSV or JSON, streamed (for `forensics sql`).

Values: NULL is `NULL` in the table, empty in CSV, null in JSON; timestamps are ISO-8601 with Z (a naive
TIMESTAMP is UTC; a TIMESTAMPTZ is converted to UTC); BLOBs are hex; lists and structs are JSON text in the
table and CSV, JSON values in JSON. Addresses are UHUGEINT numbers: select ip_text(col) to read them.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import uuid
from collections.abc import Iterable, Iterator

# Column widths come from the first rows; later rows only widen the cell they are in (streaming).
WIDTH_SAMPLE_ROWS = 1000
MAX_CELL = 200  # a longer cell is cut with "..." in the table (CSV and JSON keep it whole)


def plain(value: object) -> object:
    """A value as JSON-able data."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def cell(value: object, null: str = "NULL") -> str:
    """A value as table/CSV text."""
    if value is None:
        return null
    data = plain(value)
    if isinstance(data, (dict, list)):
        return json.dumps(data, default=str)
    if isinstance(data, bool):
        return "true" if data else "false"
    return str(data)


def _numeric(rows: list[tuple], i: int) -> bool:
    seen = [r[i] for r in rows if r[i] is not None]
    return bool(seen) and all(isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool)
                              for v in seen)


def table_lines(columns: list[str], batches: Iterable[list[tuple]]) -> Iterator[str]:
    """Header, a rule, one line per row, then '(N rows)'. Numbers are right-aligned."""
    batches = iter(batches)
    sample: list[tuple] = []
    pending: list[list[tuple]] = []
    for batch in batches:
        pending.append(batch)
        sample += batch
        if len(sample) >= WIDTH_SAMPLE_ROWS:
            break
    shown = [[_cut(cell(v)) for v in r] for r in sample]
    widths = [max([len(c)] + [len(r[i]) for r in shown]) for i, c in enumerate(columns)]
    right = [_numeric(sample, i) for i in range(len(columns))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if right[i] else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    yield line(list(columns))
    yield "  ".join("-" * w for w in widths)
    count = 0
    for batch in _chain(pending, batches):
        for row in batch:
            count += 1
            yield line([_cut(cell(v)) for v in row])
    yield f"({count} row{'' if count == 1 else 's'})"


def _chain(first: list[list[tuple]], rest: Iterator[list[tuple]]) -> Iterator[list[tuple]]:
    yield from first
    yield from rest


def _cut(text: str) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 3] + "..."


def csv_lines(columns: list[str], batches: Iterable[list[tuple]]) -> Iterator[str]:
    """RFC 4180 CSV with a header row; NULL is an empty field."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    yield buf.getvalue()
    for batch in batches:
        buf.seek(0)
        buf.truncate()
        writer.writerows([cell(v, null="") for v in row] for row in batch)
        yield buf.getvalue()


def json_chunks(columns: list[str], batches: Iterable[list[tuple]]) -> Iterator[str]:
    """A JSON array of objects, one per row, keyed by column name."""
    yield "["
    first = True
    for batch in batches:
        for row in batch:
            obj = {c: plain(v) for c, v in zip(columns, row, strict=True)}
            yield ("\n" if first else ",\n") + json.dumps(obj, default=str)
            first = False
    yield "\n]\n" if not first else "]\n"
