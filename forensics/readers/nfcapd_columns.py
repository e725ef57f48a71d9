"""`nfdump -o json` output read a slice of records at a time into columns (forensics.records.FlowColumns).

nfdump prints one pretty-printed JSON object per flow record. Python reading them one at a time
(forensics.readers.nfcapd.nfdump_json_record) costs ~35 us a record, 6 minutes for a 10 M-flow file;
nfdump itself writes them in 15 s. Here compiled code scans a slice of whole records
(forensics.readers.nfdump_scan) and the columns are shaped as nfdump_json_record shapes one record, with
the same values:

- addresses: `src4_addr` when present and not empty, else `src6_addr` (likewise the next hop and the
  router); dotted quads read by the scan, any other text by forensics.netaddr.ip_to_int, once per distinct
  text (unreadable text: NULL, as textflows.parse_addr gives);
- times: UTC microseconds; TCP flags: the sum of nfdump's letters (textflows.tcp_flag_letters);
- ICMP (protocol 1 or 58): type and code from `icmp_type`/`icmp_code`, else from the destination port
  (type * 256 + code), and both ports 0; `src_vlan` 0 is NULL; missing packet or byte counts are 0.

A slice the scan calls not regular (nfdump_scan says what that is) gives None: the caller reads it record
by record.
"""

from __future__ import annotations

import numpy as np

from forensics.netaddr import V4_MAPPED
from forensics.readers import nfdump_scan as ns
from forensics.readers.text_columns import ip_versions
from forensics.readers.textflows import parse_addr
from forensics.records import FlowColumns

_INT = {k: i for i, k in enumerate(ns.INT_KEYS)}
_ADDR = {k: i for i, k in enumerate(ns.ADDRESS_KEYS)}
_MASK64 = (1 << 64) - 1


def scan_block(block: bytes, first_pos: int) -> FlowColumns | None:
    """The records of a slice of nfdump's JSON (whole objects; the array's brackets and commas may be there)
    as columns, `record_pos` numbered from `first_pos`; None when the slice is not regular."""
    cap = ns.record_bound(block)
    if cap == 0:
        return FlowColumns(0, "nfcapd")
    buf = np.frombuffer(block, np.uint8)
    ints = np.zeros((len(ns.INT_KEYS), cap), np.int64)
    has_int = np.zeros((len(ns.INT_KEYS), cap), bool)
    times = np.zeros((len(ns.TIME_KEYS), cap), np.int64)
    has_time = np.zeros((len(ns.TIME_KEYS), cap), bool)
    flags = np.zeros(cap, np.int64)
    has_flags = np.zeros(cap, bool)
    addr = np.zeros((len(ns.ADDRESS_KEYS), cap), np.int64)
    state = np.zeros((len(ns.ADDRESS_KEYS), cap), np.int8)
    start = np.zeros((len(ns.ADDRESS_KEYS), cap), np.int64)
    end = np.zeros((len(ns.ADDRESS_KEYS), cap), np.int64)
    n, status = ns.scan(buf, ns.KEY_TEXT, ns.KEY_STARTS, ns.KEY_INDEX, ns.KEY_KIND, ns.KEY_SLOT, ints, has_int, times,
                        has_time, flags, has_flags, addr, state, start, end)
    if status != ns.REGULAR:
        return None
    cols = FlowColumns(n, "nfcapd")
    v, valid = cols.values, cols.valid
    def integer(name: str, dtype: type = np.int64) -> tuple[np.ndarray, np.ndarray]:
        return ints[_INT[name], :n].astype(dtype), has_int[_INT[name], :n]

    v["record_pos"] = np.arange(first_pos, first_pos + n, dtype=np.int64)
    v["first_ts_us"] = times[0, :n]
    v["last_ts_us"] = np.where(has_time[1, :n], times[1, :n], times[0, :n])
    for key, a, b in (("src_ip", "src4_addr", "src6_addr"), ("dst_ip", "dst4_addr", "dst6_addr"),
                      ("next_hop", "ip4_next_hop", "ip6_next_hop"), ("exporter_ip", "ip4_router", "ip6_router")):
        hi, lo, ok = _address(block, _ADDR[a], _ADDR[b], addr[:, :n], state[:, :n], start[:, :n], end[:, :n])
        v[key + "_hi"], v[key + "_lo"] = hi, lo
        if not ok.all():
            valid[key] = ok
    src_ok = valid.get("src_ip", np.ones(n, bool))
    cols.put("ip_version", ip_versions(v["src_ip_hi"], v["src_ip_lo"]), src_ok)
    for key, name in (("ip_proto", "proto"), ("src_port", "src_port"), ("dst_port", "dst_port"), ("tos", "src_tos"),
                      ("direction", "direction")):
        cols.put(key, *integer(name))
    for key, name in (("in_if", "input_snmp"), ("out_if", "output_snmp"), ("src_as", "src_as"), ("dst_as", "dst_as"),
                      ("observation_domain", "export_sysid")):
        cols.put(key, *integer(name, np.uint64))
    v["packets"] = integer("in_packets", np.uint64)[0]  # missing: 0
    v["bytes"] = integer("in_bytes", np.uint64)[0]
    cols.put("tcp_flags", flags[:n], has_flags[:n])
    vlan = integer("src_vlan")[0]
    cols.put("vlan", vlan, vlan != 0)  # `src_vlan or None`
    proto, proto_ok = integer("proto")
    icmp = ((proto == 1) | (proto == 58)) & proto_ok
    if icmp.any():
        dport = v["dst_port"]  # (missing: 0)
        given_type, has_type = integer("icmp_type")
        given_code, has_code = integer("icmp_code")
        v["icmp_type"] = np.where(icmp & has_type, given_type, np.where(icmp, dport >> 8, 0))
        v["icmp_code"] = np.where(icmp & has_type, given_code, np.where(icmp, dport & 0xFF, 0))
        valid["icmp_type"] = icmp
        valid["icmp_code"] = icmp & (~has_type | has_code)
        for port in ("src_port", "dst_port"):
            v[port] = np.where(icmp, 0, v[port])
            if port in valid:
                valid[port] = valid[port] | icmp
    return cols


def _address(block: bytes, a: int, b: int, addr: np.ndarray, state: np.ndarray, start: np.ndarray,
             end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hi, lo, valid) of parse_addr(record[a] or record[b]) for every record of the scan."""
    use_a = (state[a] == ns.A_V4) | (state[a] == ns.A_TEXT)
    st = np.where(use_a, state[a], state[b])
    value = np.where(use_a, addr[a], addr[b]).astype(np.uint64)
    hi = np.zeros(len(st), np.uint64)
    lo = np.where(st == ns.A_V4, value | np.uint64(V4_MAPPED), np.uint64(0)).astype(np.uint64)
    ok = st == ns.A_V4
    text_rows = np.flatnonzero(st == ns.A_TEXT)
    if len(text_rows):
        s = np.where(use_a, start[a], start[b])[text_rows].tolist()
        e = np.where(use_a, end[a], end[b])[text_rows].tolist()
        seen: dict[bytes, int | None] = {}
        for row, i, j in zip(text_rows.tolist(), s, e, strict=True):
            word = block[i:j]
            if word not in seen:
                seen[word] = parse_addr(word.decode("utf-8", "replace"))
            value_ = seen[word]
            if value_ is not None:
                hi[row], lo[row], ok[row] = value_ >> 64, value_ & _MASK64, True
    return hi, lo, ok


__all__ = ["scan_block"]
