"""`nfdump -o csv` output read a run of lines at a time into columns.

textflows.read_nfdump_csv reads a line at a time (~30 us a line). Here the lines between the header
(`ts,te,td,sa,da,...`) and the `Summary` line are parsed by pyarrow's CSV reader (every field text, trimmed)
and shaped as textflows._nfdump_csv_record shapes one line, with the same values: times
(YYYY-MM-DD HH:MM:SS[.fff|.ffffff], UTC), the end from the duration when there is one, addresses and
protocols through parse_addr / _proto once per distinct text, next hop and router 0.0.0.0 or :: NULL, flag
letters, VLAN 0 NULL, missing counts 0, ICMP type and code from the destination port ("t.c" or t * 256 + c).

A run with anything else (an empty line, a line with another number of fields, a value that is not what
nfdump prints: a number with a fraction, another time form) gives None: those lines are read a line at a
time, which decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from forensics.readers.line_runs import line_bounds, runs
from forensics.readers.text_columns import delimited, digits, ip_versions, mapped, parse_addresses
from forensics.readers.textflows import _nfdump_csv_record, _proto, tcp_flag_letters
from forensics.records import FlowColumns

_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6})?$"
_DECIMAL = r"^[0-9]{1,12}(\.[0-9]{1,9})?$"
_ICMP_DOT = r"^[0-9]{1,9}\.[0-9]{1,9}$"
# the columns _nfdump_csv_record reads (nfdump prints 48: the others are not converted)
_READ = {"ts", "te", "td", "sa", "da", "sp", "dp", "pr", "flg", "stos", "ipkt", "ibyt", "in", "out", "sas", "das",
         "dir", "nh", "ra", "svln"}


def csv_columns(run: bytes | memoryview, first_lineno: int, lines: int, cols: list[str]) -> FlowColumns | None:
    """The records of `lines` data lines numbered from `first_lineno` under header `cols`; None when the run is
    not regular."""
    if len(set(cols)) != len(cols) or "ts" not in cols:
        return None
    table = delimited(run, cols, ",", _READ)
    if table is None or table.num_rows != lines:
        return None
    n = lines

    def text(name: str) -> pa.Array | None:
        if name not in cols:
            return None
        return pc.utf8_trim_whitespace(table.column(name).combine_chunks())

    def matches(values: pa.Array, pattern: str) -> bool:
        return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())

    ts = text("ts")
    if not matches(ts, _TIME):
        return None
    first = _micros(ts)
    td = text("td")
    use_td = np.zeros(n, bool) if td is None else np.asarray(pc.not_equal(td, "").to_numpy(zero_copy_only=False), bool)
    last = first.copy()
    if use_td.any():
        given = td.filter(pa.array(use_td))
        if not matches(given, _DECIMAL):
            return None
        seconds = np.asarray(given.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
        last[use_td] = first[use_td] + np.rint(seconds * 1_000_000).astype(np.int64)
    if not use_td.all():
        te = text("te")
        if te is None:
            return None
        end = te.filter(pa.array(~use_td))
        if not matches(end, _TIME):
            return None
        last[~use_td] = _micros(end)
    ints = {}
    for name in ("stos", "ipkt", "ibyt", "in", "out", "sas", "das", "dir", "svln", "sp"):
        got = digits(text(name), n)
        if got is None:
            return None
        ints[name] = got
    if "sp" not in cols:  # `f.get("sp", "0")`
        ints["sp"] = np.zeros(n, np.int64), np.ones(n, bool)

    cols_out = FlowColumns(n, "nfdump_csv")
    v, valid = cols_out.values, cols_out.valid
    v["record_pos"] = np.arange(first_lineno, first_lineno + n, dtype=np.int64)
    v["first_ts_us"], v["last_ts_us"] = first, last
    for key, name, zero in (("src_ip", "sa", False), ("dst_ip", "da", False), ("next_hop", "nh", True),
                            ("exporter_ip", "ra", True)):
        column = text(name)
        if column is None:
            hi, lo, ok = np.zeros(n, np.uint64), np.zeros(n, np.uint64), np.zeros(n, bool)
        else:
            hi, lo, ok = parse_addresses(column)
            if zero:  # `parse_addr(x) if x not in ("0.0.0.0", "::") else None`
                ok &= ~np.asarray(pc.is_in(column, value_set=pa.array(["0.0.0.0", "::"])).to_numpy(
                    zero_copy_only=False), bool)
        v[key + "_hi"], v[key + "_lo"] = hi, lo
        if not ok.all():
            valid[key] = ok
    src_ok = valid.get("src_ip", np.ones(n, bool))
    cols_out.put("ip_version", ip_versions(v["src_ip_hi"], v["src_ip_lo"]), src_ok)
    proto, proto_ok = mapped(text("pr"), n, _proto)
    cols_out.put("ip_proto", proto, proto_ok)
    flags, _ = mapped(text("flg"), n, lambda w: tcp_flag_letters(w or ""))
    v["tcp_flags"] = flags if "flg" in cols else np.zeros(n, np.int64)
    for key, name in (("tos", "stos"), ("in_if", "in"), ("out_if", "out"), ("src_as", "sas"), ("dst_as", "das"),
                      ("direction", "dir")):
        cols_out.put(key, *ints[name])
    v["packets"] = ints["ipkt"][0].astype(np.uint64)  # `_int(x) or 0`
    v["bytes"] = ints["ibyt"][0].astype(np.uint64)
    vlan, vlan_ok = ints["svln"]
    cols_out.put("vlan", vlan, vlan_ok & (vlan != 0))
    icmp = proto_ok & ((proto == 1) | (proto == 58))
    dp = text("dp")
    if dp is None:
        dp = pa.array(["0"] * n, pa.string())
    dotted = np.asarray(pc.match_substring_regex(dp, _ICMP_DOT).to_numpy(zero_copy_only=False), bool)
    plain = digits(pc.if_else(pa.array(dotted), pa.scalar("", pa.string()), dp), n)
    if plain is None:
        return None
    dport, dport_ok = plain
    sport, sport_ok = ints["sp"]
    if (dotted & ~icmp).any():  # a dotted port on another protocol: int() refuses it
        return None
    cols_out.put("src_port", np.where(icmp, 0, sport), icmp | sport_ok)
    cols_out.put("dst_port", np.where(icmp, 0, dport), icmp | dport_ok)
    if icmp.any():
        kind, code = dport >> 8, dport & 0xFF
        if dotted.any():
            parts = pc.split_pattern(dp.filter(pa.array(dotted)), ".")
            pairs = pc.list_flatten(parts).cast(pa.int64()).to_numpy().reshape(-1, 2)
            kind[dotted], code[dotted] = pairs[:, 0], pairs[:, 1]
        v["icmp_type"], v["icmp_code"] = np.where(icmp, kind, 0), np.where(icmp, code, 0)
        valid["icmp_type"] = valid["icmp_code"] = icmp
    return cols_out


def read_nfdump_csv_columns(blocks: Iterable[bytes]) -> Iterator[FlowColumns | list[dict]]:
    """The records of `nfdump -o csv` output given as blocks of whole lines: runs of data lines as columns, or
    as textflows.read_nfdump_csv's records where the columns cannot read them. Same records, values, order."""
    cols: list[str] = []
    lineno = 0

    def columns(run: memoryview, first: int, lines: int) -> FlowColumns | None:
        return csv_columns(run, first, lines, cols)

    def by_line(raw: bytes, number: int) -> Iterator[dict]:
        return _line(raw, number, cols)

    for block in blocks:
        starts, ends = line_bounds(block)
        i = 0
        while not cols and i < len(starts):  # lines before the header are passed over
            line = block[starts[i]:ends[i]].decode("utf-8", "replace").strip()
            if line.startswith("ts,"):
                cols = line.split(",")
            i += 1
        if not cols:
            lineno += len(starts)
            continue
        stop = _stop_line(block, starts, ends, i)
        if stop > i:
            yield from runs(block, starts, ends, i, stop, lineno + 1, columns, by_line)
        if stop < len(starts):
            return  # the Summary: nothing after it is read
        lineno += len(starts)


def _stop_line(block: bytes, starts: np.ndarray, ends: np.ndarray, i: int) -> int:
    """The first line from i that ends the records ("Summary..." or "No matching flows"), else len(starts)."""
    best = len(starts)
    begin = int(starts[i]) if i < len(starts) else len(block)
    for word in (b"Summary", b"No matching flows"):
        at = block.find(word, begin)
        while at >= 0:
            k = int(np.searchsorted(starts, at, side="right")) - 1
            if k >= best:
                break
            line = block[starts[k]:ends[k]].decode("utf-8", "replace").strip()
            if line.startswith("Summary") or line == "No matching flows":
                best = k
                break
            at = block.find(word, int(ends[k]))
    return best


def _line(raw: bytes, lineno: int, cols: list[str]) -> Iterator[dict]:
    """textflows.read_nfdump_csv's reading of one data line."""
    line = raw.decode("utf-8", "replace").strip()
    if not line:
        return
    parts = [p.strip() for p in line.split(",")]
    if len(parts) < len(cols):
        yield {"invalid": "short_csv_line"}
        return
    try:
        yield _nfdump_csv_record(dict(zip(cols, parts, strict=False)), lineno)
    except (ValueError, KeyError):
        yield {"invalid": "bad_csv_value"}


def _micros(text: pa.Array) -> np.ndarray:
    return np.asarray(text.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(zero_copy_only=False), np.int64)


__all__ = ["csv_columns", "read_nfdump_csv_columns"]
