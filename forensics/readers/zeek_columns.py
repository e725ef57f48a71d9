"""Zeek conn.log, tab-separated or JSON lines, read a run of lines at a time into columns.

textflows.read_zeek_tsv reads a line at a time (~19 us a line: a million-line log took 19 s). Here a run of
data lines under one header is parsed by pyarrow's CSV reader (tab-delimited, no quoting, every field text)
and shaped as textflows._zeek_records shapes one line, with the same values:

- unset and empty markers are NULL; times and durations are decimal seconds, as microseconds rounded as
  Python's round(float(x) * 1e6) rounds them; ports and counts are decimal integers (missing counts 0);
- addresses through textflows.parse_addr and protocols through textflows._proto, once per distinct text;
  ICMP seen on an IPv6 connection is ICMPv6;
- one record originator -> responder, then responder -> originator when it has packets, both with the
  line's number; ICMP: the type and code from orig_p/resp_p on the first, NULL on the second, ports 0.

A run with anything else (a line with another number of fields, an empty line, a time in ISO form or with a
sign or exponent, a number that is not plain digits, no `ts` or address field, another separator than
a tab) gives None: the caller reads it a line at a time, and that path decides.

JSON lines (textflows.read_zeek_json) go through pyarrow's JSON reader with the types Zeek writes (the time
as seconds, or as ISO 8601 text ending in Z), then the same shaping; json_columns says what it leaves to the
line reader.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from forensics.readers.line_runs import all_lines, line_bounds, runs
from forensics.readers.text_columns import (
    delimited,
    digits,
    integers,
    mapped,
    parse_addresses,
    put_endpoints,
    two_way,
)
from forensics.readers.textflows import ZeekTsvHeader, _proto, read_zeek_json, zeek_tsv_line
from forensics.records import FlowColumns

_DECIMAL = r"^[0-9]{1,12}(\.[0-9]{1,9})?$"  # seconds: what float() reads the same way as Arrow


def tsv_columns(run: bytes | memoryview, first_lineno: int, lines: int, header: ZeekTsvHeader) -> FlowColumns | None:
    """The records of `lines` data lines (`run`, each ending with a newline but maybe the last) numbered from
    `first_lineno`; None when the run is not regular."""
    fields = header.fields
    if fields is None or header.sep != "\t" or not {"ts", "id.orig_h", "id.resp_h"} <= set(fields) \
            or len(set(fields)) != len(fields):
        return None
    table = delimited(run, fields, "\t")
    if table is None or table.num_rows != lines:
        return None
    markers = pa.array([header.unset, header.empty], pa.string())

    def column(name: str) -> pa.Array | None:
        if name not in fields:
            return None
        values = table.column(name).combine_chunks()
        return pc.if_else(pc.is_in(values, value_set=markers), pa.scalar(None, pa.string()), values)

    ts = column("ts")
    if ts.null_count or not pc.all(pc.match_substring_regex(ts, _DECIMAL)).as_py():
        return None
    first = _micros(ts)
    duration = column("duration")
    last = first.copy()
    if duration is not None:
        duration = pc.if_else(pc.equal(duration, ""), pa.scalar(None, pa.string()), duration)
        if pc.any(pc.invert(pc.match_substring_regex(duration, _DECIMAL))).as_py():
            return None
        has = ~np.asarray(duration.is_null().to_numpy(zero_copy_only=False))
        last = first + np.where(has, _micros(duration.fill_null("0")), 0)
    ints = {}
    for name in INT_FIELDS:
        got = digits(column(name), table.num_rows)
        if got is None:
            return None
        ints[name] = got
    return _shape(table.num_rows, first_lineno, first, last, column("id.orig_h"), column("id.resp_h"),
                  column("proto"), ints)


INT_FIELDS = ("id.orig_p", "id.resp_p", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes")


def _shape(n: int, first_lineno: int, first: np.ndarray, last: np.ndarray, orig_text: pa.Array,
           resp_text: pa.Array, proto_text: pa.Array | None,
           ints: dict[str, tuple[np.ndarray, np.ndarray]]) -> FlowColumns:
    """The records of n lines (textflows._zeek_records, a line at a time) from their fields as columns."""
    orig = parse_addresses(orig_text)
    resp = parse_addresses(resp_text)
    proto, proto_ok = mapped(proto_text, n, _proto)
    orig_v6 = orig[2] & ~((orig[0] == 0) & (orig[1] >> np.uint64(32) == 0xFFFF))
    proto = np.where(proto_ok & (proto == 1) & orig_v6, 58, proto)
    oport, oport_ok = ints["id.orig_p"]
    rport, rport_ok = ints["id.resp_p"]
    counts = [(ints["orig_pkts"][0], ints["orig_ip_bytes"][0]), (ints["resp_pkts"][0], ints["resp_ip_bytes"][0])]
    line, reverse = two_way(counts[1][0] != 0)
    cols = FlowColumns(len(line), "zeek")
    v, valid = cols.values, cols.valid
    v["record_pos"] = (first_lineno + line).astype(np.int64)
    v["first_ts_us"], v["last_ts_us"] = first[line], last[line]
    put_endpoints(cols, orig, resp, line, reverse)
    p, p_ok = proto[line], proto_ok[line]
    cols.put("ip_proto", p, p_ok)
    icmp = p_ok & ((p == 1) | (p == 58))
    sport = np.where(reverse, rport[line], oport[line])
    sport_ok = np.where(reverse, rport_ok[line], oport_ok[line])
    dport = np.where(reverse, oport[line], rport[line])
    dport_ok = np.where(reverse, oport_ok[line], rport_ok[line])
    cols.put("src_port", np.where(icmp, 0, sport), sport_ok | icmp)
    cols.put("dst_port", np.where(icmp, 0, dport), dport_ok | icmp)
    if icmp.any():  # Zeek puts the ICMP type in orig_p and the code in resp_p (the first record only)
        v["icmp_type"] = np.where(icmp, oport[line], 0)
        v["icmp_code"] = np.where(icmp, rport[line], 0)
        valid["icmp_type"] = icmp & ~reverse & oport_ok[line]
        valid["icmp_code"] = icmp & ~reverse & rport_ok[line]
    v["packets"] = np.where(reverse, counts[1][0][line], counts[0][0][line]).astype(np.uint64)
    v["bytes"] = np.where(reverse, counts[1][1][line], counts[0][1][line]).astype(np.uint64)
    return cols


def read_zeek_tsv_columns(blocks: Iterable[bytes]) -> Iterator[FlowColumns | list[dict]]:
    """The records of a Zeek TSV log given as blocks of whole lines (the last may lack its newline): a run of
    data lines as columns, or as textflows.zeek_tsv_line's records (invalid ones included) where the columns
    cannot read it. Same records, same values, same order as textflows.read_zeek_tsv."""
    header = ZeekTsvHeader()
    lineno = 0

    def columns(run: memoryview, first: int, lines: int) -> FlowColumns | None:
        return tsv_columns(run, first, lines, header)

    def by_line(raw: bytes, number: int) -> Iterator[dict]:
        return zeek_tsv_line(raw, number, header)

    for block in blocks:
        starts, ends = line_bounds(block)
        is_header = np.frombuffer(block, np.uint8)[starts] == ord("#")
        cuts = [0, *(np.flatnonzero(np.diff(is_header.astype(np.int8))) + 1).tolist(), len(starts)]
        for i, j in zip(cuts[:-1], cuts[1:], strict=True):
            if is_header[i]:
                for k in range(i, j):
                    for _ in zeek_tsv_line(block[starts[k]:ends[k]], lineno + k + 1, header):
                        pass  # (a header line gives no record)
                continue
            yield from runs(block, starts, ends, i, j, lineno + 1, columns, by_line)
        lineno += len(starts)


_JSON_SCHEMA = [("ts", pa.float64()), ("duration", pa.float64()), ("id.orig_h", pa.string()),
                ("id.resp_h", pa.string()), ("proto", pa.string()), *((f, pa.int64()) for f in INT_FIELDS)]
# a time as Zeek's JSON writer prints it with JSON::TS_ISO8601: what text_to_us and Arrow read alike
_ISO_Z = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6})?Z$"


def json_columns(run: bytes | memoryview, first_lineno: int, lines: int) -> FlowColumns | None:
    """The records of `lines` JSON lines (textflows.read_zeek_json, a line at a time); None when the run is not
    regular: a blank line, a line that is not an object, a field of another JSON type than Zeek writes, a
    NULL or missing time or address (the line reader tells a missing key, refused, from a null one)."""
    table = None
    for ts_type in (pa.float64(), pa.string()):  # epoch seconds (Zeek's default) or ISO 8601 text
        schema = pa.schema([(name, ts_type if name == "ts" else kind) for name, kind in _JSON_SCHEMA])
        try:
            table = pj.read_json(pa.py_buffer(run), read_options=pj.ReadOptions(block_size=1 << 20),
                                 parse_options=pj.ParseOptions(explicit_schema=schema,
                                                               unexpected_field_behavior="ignore"))
            break
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    if table is None or table.num_rows != lines:
        return None
    n = table.num_rows

    def column(name: str) -> pa.Array:
        return table.column(name).combine_chunks()

    ts, orig, resp = column("ts"), column("id.orig_h"), column("id.resp_h")
    if ts.null_count or orig.null_count or resp.null_count:
        return None
    if pa.types.is_string(ts.type):
        if not pc.all(pc.match_substring_regex(ts, _ISO_Z)).as_py():
            return None
        try:
            first = np.asarray(ts.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_numpy(), np.int64)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    else:
        first = np.rint(np.asarray(ts.to_numpy(zero_copy_only=False), np.float64) * 1_000_000).astype(np.int64)
    duration = column("duration")
    has = ~np.asarray(duration.is_null().to_numpy(zero_copy_only=False))
    seconds = np.asarray(duration.fill_null(0.0).to_numpy(zero_copy_only=False), np.float64)
    last = first + np.where(has, np.rint(seconds * 1_000_000), 0).astype(np.int64)
    ints = {}
    for name in INT_FIELDS:
        ints[name] = integers(column(name))
        if (ints[name][0] < 0).any():  # (a negative count is refused by the record path's range check)
            return None
    return _shape(n, first_lineno, first, last, orig, resp, column("proto"), ints)


def read_zeek_json_columns(blocks: Iterable[bytes]) -> Iterator[FlowColumns | list[dict]]:
    """The records of a Zeek JSON log given as blocks of whole lines: runs of lines as columns, or as
    textflows.read_zeek_json's records where the columns cannot read them. Same records, values and order."""
    return all_lines(blocks, json_columns, lambda raw, number: read_zeek_json([raw], "", number))


def _micros(text: pa.Array) -> np.ndarray:
    seconds = np.asarray(text.cast(pa.float64()).to_numpy(zero_copy_only=False), np.float64)
    return np.rint(seconds * 1_000_000).astype(np.int64)


__all__ = ["json_columns", "read_zeek_json_columns", "read_zeek_tsv_columns", "tsv_columns"]
