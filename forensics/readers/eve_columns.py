"""Suricata eve.json read a run of lines at a time into columns: the `flow` and `netflow` events.

textflows.read_suricata_eve reads a line at a time with json.loads. Here a run of lines is parsed by pyarrow's
JSON reader with the types Suricata writes for the keys textflows._eve_records reads (other keys, and other
events' bodies, are skipped), and shaped as that function shapes one event, with the same values:

- events other than `flow` and `netflow` give no record (their lines keep their numbers);
- `flow`: one record to the server, then one to the client when it has packets; `netflow`: one record;
- times: `start` and `end` of the flow/netflow object, ISO 8601 with an offset, as UTC;
- addresses and protocols through textflows.parse_addr / _proto once per distinct text; the first VLAN;
  TCP flags from their hex text (tcp_flags_ts / tcp_flags_tc for a flow, tcp_flags for a netflow);
- ICMP: type and code from icmp_type/icmp_code (response_* for the client's record), ports 0.

A run with anything else (a blank line, a line that is not an object, a key of another JSON type, a NULL or
missing address, start or end time, packet or byte count of a flow event, a negative count, a time of another form,
flags that are not hex) gives None: the caller reads it a line at a time, which decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from forensics.readers.line_runs import all_lines
from forensics.readers.text_columns import integers, mapped, parse_addresses, put_endpoints, two_way
from forensics.readers.textflows import _proto, read_suricata_eve
from forensics.records import FlowColumns

_I64, _STR = pa.int64(), pa.string()
_TIMES = [("start", _STR), ("end", _STR)]
SCHEMA = pa.schema([
    ("event_type", _STR), ("src_ip", _STR), ("dest_ip", _STR), ("src_port", _I64), ("dest_port", _I64),
    ("proto", _STR), ("vlan", pa.list_(_I64)),
    ("icmp_type", _I64), ("icmp_code", _I64), ("response_icmp_type", _I64), ("response_icmp_code", _I64),
    ("tcp", pa.struct([("tcp_flags", _STR), ("tcp_flags_ts", _STR), ("tcp_flags_tc", _STR)])),
    ("flow", pa.struct([("pkts_toserver", _I64), ("pkts_toclient", _I64), ("bytes_toserver", _I64),
                        ("bytes_toclient", _I64), *_TIMES])),
    ("netflow", pa.struct([("pkts", _I64), ("bytes", _I64), *_TIMES])),
])
_PARSE = pj.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
_READ = pj.ReadOptions(block_size=1 << 20)
# what text_to_us and Arrow read alike: YYYY-MM-DDTHH:MM:SS[.fff|.ffffff] and Z or an offset +HHMM / +HH:MM
_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3}|\.[0-9]{6})?(Z|[+-][0-9]{2}:?[0-9]{2})$"
_HEX = r"^[0-9a-fA-F]{1,4}$"


def eve_columns(run: bytes | memoryview, first_lineno: int, lines: int) -> FlowColumns | None:
    """The records of `lines` eve.json lines numbered from `first_lineno`; None when the run is not regular."""
    try:
        table = pj.read_json(pa.py_buffer(run), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != lines:
        return None
    event = table.column("event_type").combine_chunks()
    is_flow = np.asarray(pc.equal(event, "flow").fill_null(False).to_numpy(zero_copy_only=False), bool)
    is_netflow = np.asarray(pc.equal(event, "netflow").fill_null(False).to_numpy(zero_copy_only=False), bool)
    kept = np.flatnonzero(is_flow | is_netflow)
    if not len(kept):
        return FlowColumns(0, "suricata")
    t = table.take(pa.array(kept)).combine_chunks()
    flow = is_flow[kept]

    def field(struct: str, name: str) -> pa.Array:
        return pc.struct_field(t.column(struct).combine_chunks(), name)

    def choose(a: pa.Array, b: pa.Array) -> pa.Array:
        return pc.if_else(pa.array(flow), a, b)

    start = choose(field("flow", "start"), field("netflow", "start"))
    end = choose(field("flow", "end"), field("netflow", "end"))
    to_server = (choose(field("flow", "pkts_toserver"), field("netflow", "pkts")),
                 choose(field("flow", "bytes_toserver"), field("netflow", "bytes")))
    to_client = (field("flow", "pkts_toclient"), field("flow", "bytes_toclient"))
    src_text, dst_text = t.column("src_ip").combine_chunks(), t.column("dest_ip").combine_chunks()
    if start.null_count or end.null_count or src_text.null_count or dst_text.null_count \
            or any(c.null_count for c in to_server) \
            or any(pc.any(pc.and_(pa.array(flow), c.is_null())).as_py() for c in to_client):
        return None  # (missing and NULL are told apart by the line reader only)
    if not pc.all(pc.match_substring_regex(start, _TIME)).as_py() or \
            not pc.all(pc.match_substring_regex(end, _TIME)).as_py():
        return None
    try:
        first = _micros(start)
        last = _micros(end)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    counts = []
    for c in (*to_server, *to_client):
        values = np.asarray(c.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        if (values < 0).any():
            return None
        counts.append(values)
    flags_server = _flags(choose(pc.struct_field(t.column("tcp").combine_chunks(), "tcp_flags_ts"),
                                 pc.struct_field(t.column("tcp").combine_chunks(), "tcp_flags")))
    flags_client = _flags(pc.struct_field(t.column("tcp").combine_chunks(), "tcp_flags_tc"))
    if flags_server is None or flags_client is None:
        return None

    n = len(kept)
    row, reverse = two_way(flow & (counts[2] != 0))
    src, dst = parse_addresses(src_text), parse_addresses(dst_text)
    sport, sport_ok = integers(t.column("src_port"))
    dport, dport_ok = integers(t.column("dest_port"))
    proto, proto_ok = mapped(t.column("proto").combine_chunks(), n, _proto)
    vlans = t.column("vlan").combine_chunks()
    has_vlan = np.asarray(pc.fill_null(pc.greater(pc.list_value_length(vlans), 0), False).to_numpy(
        zero_copy_only=False), bool)
    vlan = np.zeros(n, np.int64)
    vlan_ok = has_vlan.copy()
    if has_vlan.any():
        firsts = pc.list_element(vlans.filter(pa.array(has_vlan)), 0)
        vlan[has_vlan] = np.asarray(firsts.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        vlan_ok[has_vlan] = ~np.asarray(firsts.is_null().to_numpy(zero_copy_only=False), bool)

    cols = FlowColumns(len(row), "suricata")
    v, valid = cols.values, cols.valid
    v["record_pos"] = (first_lineno + kept[row]).astype(np.int64)
    v["first_ts_us"], v["last_ts_us"] = first[row], last[row]
    put_endpoints(cols, src, dst, row, reverse)
    p, p_ok = proto[row], proto_ok[row]
    cols.put("ip_proto", p, p_ok)
    icmp = p_ok & ((p == 1) | (p == 58))
    cols.put("src_port", np.where(icmp, 0, np.where(reverse, dport[row], sport[row])),
             icmp | np.where(reverse, dport_ok[row], sport_ok[row]))
    cols.put("dst_port", np.where(icmp, 0, np.where(reverse, sport[row], dport[row])),
             icmp | np.where(reverse, sport_ok[row], dport_ok[row]))
    if icmp.any():
        for key, name in (("icmp_type", "icmp_type"), ("icmp_code", "icmp_code")):
            a, a_ok = integers(t.column(name))
            b, b_ok = integers(t.column("response_" + name))
            v[key] = np.where(icmp, np.where(reverse, b[row], a[row]), 0)
            valid[key] = icmp & np.where(reverse, b_ok[row], a_ok[row])
    v["packets"] = np.where(reverse, counts[2][row], counts[0][row]).astype(np.uint64)
    v["bytes"] = np.where(reverse, counts[3][row], counts[1][row]).astype(np.uint64)
    cols.put("vlan", vlan[row], vlan_ok[row])
    flags = np.where(reverse, flags_client[0][row], flags_server[0][row])
    cols.put("tcp_flags", flags, np.where(reverse, flags_client[1][row], flags_server[1][row]))
    return cols


def read_suricata_eve_columns(blocks: Iterable[bytes]) -> Iterator[FlowColumns | list[dict]]:
    """The records of an eve.json given as blocks of whole lines: runs of lines as columns, or as
    textflows.read_suricata_eve's records where the columns cannot read them. Same records, values, order."""
    return all_lines(blocks, eve_columns, lambda raw, number: read_suricata_eve([raw], "", number))


def _micros(text: pa.Array) -> np.ndarray:
    return np.asarray(text.cast(pa.timestamp("us", tz="UTC")).cast(_I64).to_numpy(zero_copy_only=False), np.int64)


def _flags(text: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """(bits, valid) of int(x, 16) for hex text (textflows: NULL for no text or an empty one); None for other
    text (the line reader refuses its record)."""
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, _STR), text)
    if pc.any(pc.invert(pc.match_substring_regex(text, _HEX))).as_py():
        return None
    encoded = pc.dictionary_encode(text)
    values = np.array([int(w, 16) for w in encoded.dictionary.to_pylist()] or [0], np.int64)
    ok = ~np.asarray(encoded.indices.is_null().to_numpy(zero_copy_only=False), bool)
    return values[np.asarray(encoded.indices.fill_null(0).to_numpy(zero_copy_only=False), np.int64)], ok


__all__ = ["eve_columns", "read_suricata_eve_columns"]
