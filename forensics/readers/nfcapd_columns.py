"""`nfdump -o json` output read a block at a time into columns (forensics.records.FlowColumns).

nfdump prints one pretty-printed JSON object per flow record. Python reading them one at a time
(forensics.readers.nfcapd.nfdump_json_record) costs ~35 us a record, 6 minutes for a 10 M-flow file;
nfdump itself writes them in 15 s. Here a block of complete records is made newline-delimited
(records_as_lines: a newline between two records, every other newline and tab a space; JSON text holds
neither raw inside a string) and parsed by pyarrow's JSON reader with a fixed schema; the columns are then
shaped as nfdump_json_record shapes one record, with the same values:

- addresses: IPv4 dotted quads converted as arrays, anything else by forensics.netaddr.ip_to_int, once
  per distinct text; `src4_addr` when present and not empty, else `src6_addr` (likewise the next hop and
  the router);
- times: ISO 8601 text cast by Arrow (nfdump runs with TZ=UTC); a block with a time Arrow does not read
  goes through textflows.text_to_us value by value;
- TCP flags: nfdump's letters, through textflows.tcp_flag_letters once per distinct string;
- ICMP (protocol 1 or 58): type and code from `icmp_type`/`icmp_code`, else from the destination port
  (type * 256 + code), and both ports 0; `src_vlan` 0 is NULL; missing packet or byte counts are 0.

A record without its start time is invalid (`bad_nfdump_record`), as on the one-record path. A block
pyarrow cannot parse (a value of another JSON type than the schema's, broken text) is returned as None:
the caller reads that block record by record.
"""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from forensics.netaddr import V4_MAPPED, ip_to_int
from forensics.readers.textflows import tcp_flag_letters, text_to_us

_U64, _I64, _STR = pa.uint64(), pa.int64(), pa.string()
# every key nfdump_json_record reads, with the JSON type nfdump 1.7 prints it as
SCHEMA = pa.schema([
    ("export_sysid", _U64), ("first", _STR), ("last", _STR), ("in_packets", _U64), ("in_bytes", _U64),
    ("proto", _I64), ("tcp_flags", _STR), ("src_port", _I64), ("dst_port", _I64), ("src_tos", _I64),
    ("src4_addr", _STR), ("dst4_addr", _STR), ("src6_addr", _STR), ("dst6_addr", _STR),
    ("input_snmp", _U64), ("output_snmp", _U64), ("src_as", _U64), ("dst_as", _U64), ("direction", _I64),
    ("ip4_next_hop", _STR), ("ip6_next_hop", _STR), ("ip4_router", _STR), ("ip6_router", _STR),
    ("src_vlan", _I64), ("icmp_type", _I64), ("icmp_code", _I64),
])
_PARSE = pj.ParseOptions(explicit_schema=SCHEMA, unexpected_field_behavior="ignore")
_READ = pj.ReadOptions(block_size=4 << 20)

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# (matched by Arrow's RE2)
_DOTTED = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"  # what ipaddress reads as IPv4 (no leading zeros)
# Between two records nfdump prints "},\n{": that newline is the one kept (through \x1e, which JSON text never
# holds raw); every other newline and tab becomes a space.
_BETWEEN, _MARKED = b"},\n{", b"}\x1e{"
_ONE_LINE = bytes.maketrans(b"\n\t\x1e", b"  \n")


def records_as_lines(block: bytes) -> bytes:
    """Complete records of `nfdump -o json` (a slice of its output holding whole objects, with or without the
    array's brackets) as newline-delimited JSON, one object a line. (bytes.replace and bytes.translate: 0.3 s
    for 200,000 records, against 0.4-0.9 s deleting the whitespace with numpy.)"""
    body = block.replace(_BETWEEN, _MARKED).translate(_ONE_LINE).strip(b"[], \r\n")
    return body + b"\n" if body else b""


def parse_block(lines: bytes) -> pa.Table | None:
    """Newline-delimited records (records_as_lines) as a table of SCHEMA; None when pyarrow cannot read them."""
    if not lines:
        return SCHEMA.empty_table()
    try:
        return pj.read_json(io.BytesIO(lines), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _either(a: pa.ChunkedArray, b: pa.ChunkedArray) -> pa.Array:
    """`a or b` of nfdump_json_record: a where it is neither NULL nor empty, else b."""
    return pc.coalesce(pc.if_else(pc.equal(a, ""), pa.scalar(None, _STR), a), b).combine_chunks()


def _addresses(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hi, lo, valid) of textflows.parse_addr over `text`, each distinct text converted once."""
    n = len(text)
    hi, lo = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    words = encoded.dictionary
    u_hi, u_lo = np.zeros(len(words), np.uint64), np.zeros(len(words), np.uint64)
    u_ok = np.zeros(len(words), bool)
    dotted = pc.match_substring_regex(words, _DOTTED).to_numpy(zero_copy_only=False)
    if dotted.any():
        octets = pc.split_pattern(words.filter(pa.array(dotted)), ".")
        quads = pc.list_flatten(octets).cast(pa.uint64()).to_numpy().reshape(-1, 4)
        u_lo[dotted] = (quads[:, 0] << 24 | quads[:, 1] << 16 | quads[:, 2] << 8 | quads[:, 3]) | np.uint64(V4_MAPPED)
        u_ok[dotted] = True
    for i in np.flatnonzero(~dotted).tolist():
        word = words[i].as_py()
        if word in ("", "-"):
            continue
        try:
            value = ip_to_int(word)
        except ValueError:
            continue
        u_hi[i], u_lo[i], u_ok[i] = value >> 64, value & 0xFFFFFFFFFFFFFFFF, True
    index = encoded.indices.to_numpy(zero_copy_only=False)
    present = ~np.asarray(encoded.indices.is_null().to_numpy(zero_copy_only=False))
    at = np.where(present, index, 0).astype(np.int64)
    if len(words):
        hi, lo = u_hi[at], u_lo[at]
        valid = present & u_ok[at]
    else:
        valid = np.zeros(n, bool)
    return np.where(valid, hi, 0).astype(np.uint64), np.where(valid, lo, 0).astype(np.uint64), valid


def _micros(text: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(unix microseconds, valid) of textflows.text_to_us over `text` (NULL or unreadable: not valid)."""
    try:
        us = pc.cast(text, pa.timestamp("us")).cast(_I64)
        valid = ~np.asarray(us.is_null().to_numpy(zero_copy_only=False))
        return np.asarray(us.fill_null(0).to_numpy(zero_copy_only=False), np.int64), valid
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = np.zeros(len(text), np.int64)
    valid = np.zeros(len(text), bool)
    for i, value in enumerate(text.to_pylist()):
        if value is None:
            continue
        try:
            out[i], valid[i] = text_to_us(value), True
        except (ValueError, TypeError):
            continue
    return out, valid


def _ints(column: pa.ChunkedArray, dtype: type) -> tuple[np.ndarray, np.ndarray | None]:
    valid = None if column.null_count == 0 else ~np.asarray(column.is_null().to_numpy(zero_copy_only=False))
    return np.asarray(column.fill_null(0).to_numpy(zero_copy_only=False), dtype), valid


def _flags(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray | None]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    table = np.array([tcp_flag_letters(w) for w in encoded.dictionary.to_pylist()] or [0], np.int64)
    valid = None if encoded.null_count == 0 else ~np.asarray(encoded.indices.is_null().to_numpy(zero_copy_only=False))
    at = np.asarray(encoded.indices.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    return table[at], valid


def block_columns(table: pa.Table, first_pos: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """(values, valid, kept) of a parsed block: FlowColumns' values and validity for its records, `record_pos`
    numbered from `first_pos`, and which rows are records (the rest lack a readable start time: invalid)."""
    n = table.num_rows
    v: dict[str, np.ndarray] = {}
    valid: dict[str, np.ndarray] = {}

    def put(key: str, values: np.ndarray, ok: np.ndarray | None) -> None:
        v[key] = values
        if ok is not None and not ok.all():
            valid[key] = ok

    v["record_pos"] = np.arange(first_pos, first_pos + n, dtype=np.int64)
    first, kept = _micros(table.column("first"))
    last_text = pc.coalesce(table.column("last"), table.column("first"))
    last, last_ok = _micros(last_text)
    kept &= last_ok
    v["first_ts_us"], v["last_ts_us"] = first, last
    for key, a, b in (("src_ip", "src4_addr", "src6_addr"), ("dst_ip", "dst4_addr", "dst6_addr"),
                      ("next_hop", "ip4_next_hop", "ip6_next_hop"), ("exporter_ip", "ip4_router", "ip6_router")):
        hi, lo, ok = _addresses(_either(table.column(a), table.column(b)))
        v[key + "_hi"], v[key + "_lo"] = hi, lo
        if not ok.all():
            valid[key] = ok
    src_ok = valid.get("src_ip", np.ones(n, bool))
    put("ip_version", np.where((v["src_ip_hi"] == 0) & (v["src_ip_lo"] >> np.uint64(32) == 0xFFFF), 4, 6), src_ok)
    for key, name, dtype in (("ip_proto", "proto", np.int64), ("src_port", "src_port", np.int64),
                             ("dst_port", "dst_port", np.int64), ("tos", "src_tos", np.int64),
                             ("in_if", "input_snmp", np.uint64), ("out_if", "output_snmp", np.uint64),
                             ("src_as", "src_as", np.uint64), ("dst_as", "dst_as", np.uint64),
                             ("direction", "direction", np.int64), ("observation_domain", "export_sysid", np.uint64)):
        put(key, *_ints(table.column(name), dtype))
    for key, name in (("packets", "in_packets"), ("bytes", "in_bytes")):
        v[key] = _ints(table.column(name), np.uint64)[0]  # missing: 0
    put("tcp_flags", *_flags(table.column("tcp_flags")))
    vlan = _ints(table.column("src_vlan"), np.int64)[0]
    put("vlan", vlan, vlan != 0)  # `src_vlan or None`
    proto = v["ip_proto"]
    icmp = ((proto == 1) | (proto == 58)) & valid.get("ip_proto", np.ones(n, bool))
    if icmp.any():
        dport = v["dst_port"]  # (NULL read as 0)
        given_type, type_ok = _ints(table.column("icmp_type"), np.int64)
        given_code, code_ok = _ints(table.column("icmp_code"), np.int64)
        has_type = np.ones(n, bool) if type_ok is None else type_ok
        v["icmp_type"] = np.where(icmp & has_type, given_type, np.where(icmp, dport >> 8, 0))
        v["icmp_code"] = np.where(icmp & has_type, given_code, np.where(icmp, dport & 0xFF, 0))
        valid["icmp_type"] = icmp
        valid["icmp_code"] = icmp & (~has_type | (np.ones(n, bool) if code_ok is None else code_ok))
        for port in ("src_port", "dst_port"):
            v[port] = np.where(icmp, 0, v[port])
            if port in valid:
                valid[port] = valid[port] | icmp
    return v, valid, kept


__all__ = ["SCHEMA", "block_columns", "parse_block", "records_as_lines"]
