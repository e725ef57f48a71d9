"""NetFlow v5 records decoded a batch at a time: numpy columns instead of one dict per record.

A v5 record is a fixed 48-byte row, so the records of many datagrams laid end to end are one numpy
structured array; each datagram's header (time base, sampling, exporter, position) is repeated over
its records. `V5Batch.columns()` gives the same values forensics.readers.netflow's per-record path
(`parse_export` -> ('v5', dict)) gives, as columns keyed like forensics.records.FLOW_RECORD_KEYS.

The columns are a forensics.records.FlowColumns.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from forensics.netaddr import V4_MAPPED
from forensics.readers.netflow import (
    ADDRESS_IES,
    NTP_EPOCH_OFFSET,
    VARLEN,
    WANTED_IES,
    ExportHeader,
    FieldSpec,
    Template,
    decode_data_set,
    flow_record,
)
from forensics.records import FlowColumns

V5_HEADER_BYTES = 24
V5_RECORD_BYTES = 48
V5_DTYPE = np.dtype([
    ("src", ">u4"), ("dst", ">u4"), ("next_hop", ">u4"), ("in_if", ">u2"), ("out_if", ">u2"),
    ("packets", ">u4"), ("bytes", ">u4"), ("first", ">u4"), ("last", ">u4"), ("src_port", ">u2"),
    ("dst_port", ">u2"), ("pad1", "u1"), ("tcp_flags", "u1"), ("ip_proto", "u1"), ("tos", "u1"),
    ("src_as", ">u2"), ("dst_as", ">u2"), ("src_mask", "u1"), ("dst_mask", "u1"), ("pad2", ">u2"),
])
assert V5_DTYPE.itemsize == V5_RECORD_BYTES

_MASK64 = (1 << 64) - 1


class V5Batch:
    """The records of NetFlow v5 datagrams, gathered in order and decoded at once."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._meta: list[tuple[int, int, int, int, int, int, int]] = []
        self.rows = 0

    def __len__(self) -> int:
        return self.rows

    def add(self, payload: bytes, header: ExportHeader, records: int, frame: int, exporter: int) -> None:
        """The first `records` complete records of a v5 datagram whose header is `header`."""
        if records <= 0:
            return
        end = V5_HEADER_BYTES + V5_RECORD_BYTES * records
        self._parts.append(payload[V5_HEADER_BYTES:end])
        self._meta.append((records, frame, exporter, header.domain, header.sys_uptime_ms or 0,
                           header.export_secs * 1_000_000 + header.export_usecs, header.sampling_rate))
        self.rows += records

    def columns(self) -> FlowColumns:
        """Every record gathered so far as columns; the batch is emptied."""
        rec = np.frombuffer(b"".join(self._parts), dtype=V5_DTYPE)
        meta = list(zip(*self._meta, strict=True))
        counts = np.array(meta[0], np.int64)
        n = len(rec)
        self._parts, self._meta, self.rows = [], [], 0

        def per_record(col: int, dtype: type) -> np.ndarray:
            return np.repeat(np.array(meta[col], dtype=dtype), counts)

        out = FlowColumns(n, "netflow_v5")
        v, valid = out.values, out.valid
        v["record_pos"] = per_record(1, np.int64)
        exporters = meta[2]
        v["exporter_ip_hi"] = np.repeat(np.array([e >> 64 for e in exporters], np.uint64), counts)
        v["exporter_ip_lo"] = np.repeat(np.array([e & _MASK64 for e in exporters], np.uint64), counts)
        if not all(exporters):  # exporter 0 (unknown, as in a flow file): NULL
            valid["exporter_ip"] = np.repeat(np.array([e != 0 for e in exporters]), counts)
        v["observation_domain"] = per_record(3, np.uint64)
        uptime = per_record(4, np.int64)
        export_us = per_record(5, np.int64)
        v["first_ts_us"] = _uptime_to_us(uptime, export_us, rec["first"])
        v["last_ts_us"] = _uptime_to_us(uptime, export_us, rec["last"])
        v["ip_version"] = np.full(n, 4, np.int64)
        for name in ("src", "dst", "next_hop"):
            key = name + "_ip" if name != "next_hop" else name
            v[key + "_hi"] = np.zeros(n, np.uint64)
            v[key + "_lo"] = rec[name].astype(np.uint64) | np.uint64(V4_MAPPED)
        for name in ("in_if", "out_if", "packets", "bytes", "src_as", "dst_as"):
            v[name] = rec[name].astype(np.uint64)
        for name in ("tcp_flags", "ip_proto", "tos", "src_port", "dst_port"):
            v[name] = rec[name].astype(np.int64)
        v["sampling_rate"] = per_record(6, np.int64)
        icmp = (v["ip_proto"] == 1) | (v["ip_proto"] == 58)
        if icmp.any():  # NetFlow's ICMP convention: dst_port = type * 256 + code
            v["icmp_type"] = np.where(icmp, v["dst_port"] >> 8, 0)
            v["icmp_code"] = np.where(icmp, v["dst_port"] & 0xFF, 0)
            valid["icmp_type"] = valid["icmp_code"] = icmp
            v["src_port"] = np.where(icmp, 0, v["src_port"])
            v["dst_port"] = np.where(icmp, 0, v["dst_port"])
        return out


def _uptime_to_us(sys_uptime_ms: np.ndarray, export_us: np.ndarray, uptime_ms: np.ndarray) -> np.ndarray:
    """netflow._uptime_to_us over columns: sysUptime-relative times (ms) as unix microseconds."""
    diff = sys_uptime_ms - uptime_ms.astype(np.int64)
    diff = np.where(diff < -(1 << 31), diff + (1 << 32), np.where(diff > (1 << 31), diff - (1 << 32), diff))
    return export_us - diff * 1000


# ---- NetFlow v9 / IPFIX data sets of fixed-length templates ------------------------------------------------

# Elements whose value decides, record by record, what forensics.readers.netflow.flow_record does with the
# others (sampler ids, sampling values, an init time in the record): a template with one of them, with a
# variable-length field or with a field of an odd length goes through the per-record path.
_PER_RECORD_IES = frozenset({34, 48, 50, 160, 302, 305, 306, 309, 310})
_INT_DTYPES = {1: "u1", 2: ">u2", 4: ">u4", 8: ">u8"}
_GUARD = 1 << 50  # a raw value this large could overflow int64 arithmetic: such a batch goes record by record
_NTP_IES = frozenset({154, 155, 156, 157})  # 64-bit NTP timestamps: read as unsigned, never multiplied whole


@dataclass(frozen=True, eq=False)
class SetPlan:
    """How the records of a fixed-length template are read as one numpy structured array."""

    dtype: np.dtype
    kinds: dict[int, str]  # element -> "i" (unsigned integer), "a4" (IPv4 address), "a6" (IPv6 address)


@functools.lru_cache(maxsize=4096)
def set_plan(fields: tuple[FieldSpec, ...]) -> SetPlan | None:
    """The plan of a data template whose records decode as columns; None when the per-record path is needed."""
    names, formats, offsets, kinds = [], [], [], {}
    pos = 0
    for f in fields:
        if f.length == VARLEN:
            return None
        if not f.pen and f.ie in WANTED_IES and f.length:
            if f.ie in _PER_RECORD_IES or f.ie in kinds:
                return None
            if f.ie in ADDRESS_IES and f.length == 16:
                names += [f"e{f.ie}", f"e{f.ie}_lo"]
                formats += [">u8", ">u8"]
                offsets += [pos, pos + 8]
                kinds[f.ie] = "a6"
            elif f.length in _INT_DTYPES:
                names.append(f"e{f.ie}")
                formats.append(_INT_DTYPES[f.length])
                offsets.append(pos)
                kinds[f.ie] = "a4" if f.ie in ADDRESS_IES and f.length == 4 else "i"
            elif f.length < 8:
                return None  # an odd-length integer: the per-record path reads it
        pos += f.length
    if pos == 0:
        return None
    return SetPlan(np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": pos}), kinds)


@dataclass
class _Set:
    tpl: Template
    plan: SetPlan
    body: bytes
    header: ExportHeader
    frame: int
    exporter: int
    rate: int | None
    init_ms: int | None
    seq: int  # position of its first record among the batch's records


class DataSetBatch:
    """The data sets of fixed-length templates (one source: netflow_v9 or ipfix), gathered in order and turned
    into flow records at once: `columns()`, or `records()` (the per-record path) when `columns()` gives None."""

    def __init__(self) -> None:
        self.sets: list[_Set] = []
        self.rows = 0
        self.source = ""

    def __len__(self) -> int:
        return self.rows

    def add(self, tpl: Template, plan: SetPlan, body: bytes, header: ExportHeader, frame: int, exporter: int,
            rate: int | None, init_ms: int | None, source: str) -> int:
        """One data set (records decoded with the sampling rate and init time known now); its record count."""
        n = len(body) // plan.dtype.itemsize
        if n:
            self.sets.append(_Set(tpl, plan, body[:n * plan.dtype.itemsize], header, frame, exporter, rate,
                                  init_ms, self.rows))
            self.rows += n
            self.source = source
        return n

    def clear(self) -> None:
        self.sets, self.rows = [], 0

    def records(self) -> list[dict]:
        """The per-record path over the gathered sets (forensics.readers.netflow.flow_record), in order."""
        out = []
        for s in self.sets:
            for v in decode_data_set(s.tpl, s.body).records:
                rec = flow_record(v, s.header, s.rate, s.init_ms)
                rec.update(source=self.source, record_pos=s.frame, exporter_ip=s.exporter or None,
                           observation_domain=s.header.domain)
                out.append(rec)
        return out

    def columns(self) -> FlowColumns | None:
        """The gathered records as columns, in order; None when a value is too large for int64 arithmetic."""
        groups: dict[int, list[_Set]] = {}
        for s in self.sets:
            groups.setdefault(id(s.plan), []).append(s)
        if any(s.rate is not None and not 0 <= s.rate < _GUARD for s in self.sets) or any(
                s.init_ms is not None and not 0 <= s.init_ms < _GUARD for s in self.sets):
            return None
        parts = []
        for sets in groups.values():
            cols = _plan_columns(sets[0].plan, sets, self.source)
            if cols is None:
                return None
            parts.append(cols)
        if len(parts) == 1:
            return parts[0][0]
        return _merge(parts, self.rows, self.source)


def _merge(parts: list[tuple[FlowColumns, np.ndarray]], rows: int, source: str) -> FlowColumns:
    """Columns of several templates' records put back in their arrival order (`seq` of each record)."""
    order = np.argsort(np.concatenate([seq for _, seq in parts]), kind="stable")
    out = FlowColumns(rows, source)
    for k in {k for c, _ in parts for k in c.values}:
        like = next(c.values[k] for c, _ in parts if k in c.values)
        out.values[k] = np.concatenate(
            [c.values[k] if k in c.values else np.zeros(c.rows, like.dtype) for c, _ in parts])[order]
    for k in {k.removesuffix("_hi").removesuffix("_lo") for c, _ in parts for k in c.values}:
        masks = [_present(c, k) for c, _ in parts]
        if not all(m.all() for m in masks):
            out.valid[k] = np.concatenate(masks)[order]
    return out


def _present(c: FlowColumns, key: str) -> np.ndarray:
    if key in c.valid:
        return c.valid[key]
    return np.full(c.rows, key in c.values or key + "_hi" in c.values)


class _Opt:
    """An optional column: values and where they are present (None: everywhere)."""

    __slots__ = ("v", "ok")

    def __init__(self, v: np.ndarray, ok: np.ndarray | None = None) -> None:
        self.v, self.ok = v, ok


def _plan_columns(plan: SetPlan, sets: list[_Set], source: str) -> tuple[FlowColumns, np.ndarray] | None:
    rec = np.frombuffer(b"".join(s.body for s in sets), dtype=plan.dtype)
    n = len(rec)
    counts = np.array([len(s.body) // plan.dtype.itemsize for s in sets], np.int64)

    def rep(values: list, dtype: type) -> np.ndarray:
        return np.repeat(np.array(values, dtype=dtype), counts)

    raw: dict[int, np.ndarray] = {}
    for ie, kind in plan.kinds.items():
        col = rec[f"e{ie}"]
        if kind == "i" and col.dtype.itemsize == 8 and ie not in _NTP_IES and n and int(col.max()) >= _GUARD:
            return None
        raw[ie] = col.astype(np.int64) if kind != "a6" else col
    kinds = plan.kinds

    def has(ie: int) -> bool:
        return ie in raw

    def first(*ies: int) -> int | None:
        return next((ie for ie in ies if ie in raw), None)

    seq = np.concatenate([np.arange(s.seq, s.seq + c) for s, c in zip(sets, counts, strict=True)]) \
        if len(sets) > 1 else np.arange(sets[0].seq, sets[0].seq + n)
    out = FlowColumns(n, source)
    v, valid = out.values, out.valid
    v["record_pos"] = rep([s.frame for s in sets], np.int64)
    exporters = [s.exporter for s in sets]
    v["exporter_ip_hi"] = rep([e >> 64 for e in exporters], np.uint64)
    v["exporter_ip_lo"] = rep([e & _MASK64 for e in exporters], np.uint64)
    if not all(exporters):
        valid["exporter_ip"] = rep([e != 0 for e in exporters], bool)
    v["observation_domain"] = rep([s.header.domain for s in sets], np.uint64)

    def address(key: str, ie: int | None) -> None:
        if ie is None:
            return
        if kinds[ie] == "a6":
            v[key + "_hi"], v[key + "_lo"] = rec[f"e{ie}"].astype(np.uint64), rec[f"e{ie}_lo"].astype(np.uint64)
        else:
            v[key + "_hi"] = np.zeros(n, np.uint64)
            lo = raw[ie].astype(np.uint64)
            v[key + "_lo"] = lo | np.uint64(V4_MAPPED) if kinds[ie] == "a4" else lo

    src = first(8, 27)
    address("src_ip", src)
    address("dst_ip", first(12, 28))
    address("next_hop", first(15, 62, 18, 63))
    six = kinds.get(27) == "a6" or kinds.get(28) == "a6"
    if six:
        v["ip_version"] = np.full(n, 6, np.int64)
    elif has(60):
        v["ip_version"] = np.where(raw[60] == 6, 6, 4 if src is not None else raw[60])
    elif src is not None:
        v["ip_version"] = np.full(n, 4, np.int64)
    for key, ies in (("ip_proto", (4,)), ("src_port", (7,)), ("dst_port", (11,)), ("tos", (5,)),
                     ("tcp_flags", (6,)), ("in_if", (10, 252)), ("out_if", (14, 253)), ("src_as", (16,)),
                     ("dst_as", (17,)), ("direction", (61,)), ("vlan", (58, 243))):
        ie = first(*ies)
        if ie is not None:
            v[key] = raw[ie]
    if "vlan" in v:
        valid["vlan"] = v["vlan"] <= 4095
    for key, ies, pair in (("bytes", (1, 85, 23), (231, 232)), ("packets", (2, 86, 24), (298, 299))):
        ie = first(*ies)
        if ie is not None:
            v[key] = raw[ie]
        elif has(pair[0]) or has(pair[1]):
            v[key] = raw.get(pair[0], 0) + raw.get(pair[1], 0)
        else:
            v[key] = np.zeros(n, np.int64)
    export_us = rep([s.header.export_secs * 1_000_000 + s.header.export_usecs for s in sets], np.int64)
    uptime = [s.header.sys_uptime_ms for s in sets]
    init = [s.init_ms for s in sets]
    times = _times(raw, export_us, rep([u or 0 for u in uptime], np.int64), rep([u is not None for u in uptime], bool),
                   rep([i or 0 for i in init], np.int64), rep([i is not None for i in init], bool))
    if times is None:
        return None
    v["first_ts_us"], v["last_ts_us"] = times
    v["sampling_rate"] = rep([s.rate or 1 for s in sets], np.int64)
    _icmp(v, valid, raw, n)
    return out, seq


def _times(raw: dict[int, np.ndarray], export_us: np.ndarray, sys_uptime: np.ndarray, has_uptime: np.ndarray,
           init: np.ndarray, has_init: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """netflow._record_times over columns."""
    n = len(export_us)
    none = _Opt(np.zeros(n, np.int64), np.zeros(n, bool))
    first, last = none, none

    def opt(ie: int, f: object) -> _Opt:
        return _Opt(f(raw[ie])) if ie in raw else none  # type: ignore[operator]

    if 150 in raw or 151 in raw:
        first, last = opt(150, lambda x: x * 1_000_000), opt(151, lambda x: x * 1_000_000)
    elif 152 in raw or 153 in raw:
        first, last = opt(152, lambda x: x * 1000), opt(153, lambda x: x * 1000)
    elif 154 in raw or 155 in raw or 156 in raw or 157 in raw:
        s, e = (154 if 154 in raw else 156), (155 if 155 in raw else 157)
        first, last = opt(s, _ntp_to_us), opt(e, _ntp_to_us)
    elif 158 in raw or 159 in raw:
        first, last = opt(158, lambda x: export_us - x), opt(159, lambda x: export_us - x)
    elif 22 in raw or 21 in raw:
        # NetFlow v9: relative to the header's sysUptime; IPFIX: to systemInitTimeMilliseconds, or (without
        # one) the flow is taken to end at export time.
        end_up = raw[21] if 21 in raw else raw[22]
        if 22 in raw:
            first = _Opt(np.where(has_uptime, _uptime_to_us(sys_uptime, export_us, raw[22]),
                                  np.where(has_init, (init + raw[22]) * 1000, export_us - (end_up - raw[22]) * 1000)))
        if 21 in raw:
            last = _Opt(np.where(has_uptime, _uptime_to_us(sys_uptime, export_us, raw[21]),
                                 np.where(has_init, (init + raw[21]) * 1000, export_us)))
        else:
            last = _Opt(export_us, ~has_uptime & ~has_init)
    duration = opt(161, lambda x: x * 1000) if 161 in raw else opt(162, lambda x: x)
    f_ok = np.ones(n, bool) if first.ok is None else first.ok
    l_ok = np.ones(n, bool) if last.ok is None else last.ok
    d_ok = np.ones(n, bool) if duration.ok is None else duration.ok
    f_v = np.where(f_ok, first.v, np.where(l_ok, np.where(d_ok, last.v - duration.v, last.v), export_us))
    l_v = np.where(l_ok, last.v, np.where(f_ok, np.where(d_ok, first.v + duration.v, first.v), export_us))
    return f_v, l_v


def _ntp_to_us(value: np.ndarray) -> np.ndarray:
    u = value.astype(np.uint64)
    secs, frac = (u >> np.uint64(32)).astype(np.int64), (u & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return (secs - NTP_EPOCH_OFFSET) * 1_000_000 + ((frac * 1_000_000) >> 32)


def _icmp(v: dict[str, np.ndarray], valid: dict[str, np.ndarray], raw: dict[int, np.ndarray], n: int) -> None:
    """flow_record's ICMP rules: type/code elements, else NetFlow's dst_port convention (ICMP rows only)."""
    pair = next(((t, c) for t, c in ((178, 179), (176, 177)) if t in raw), None)
    if pair is not None:
        v["icmp_type"] = raw[pair[0]]
        if pair[1] in raw:
            v["icmp_code"] = raw[pair[1]]
    else:
        ie = next((ie for ie in (32, 139) if ie in raw), None)
        if ie is not None:
            v["icmp_type"], v["icmp_code"] = raw[ie] >> 8, raw[ie] & 0xFF
    proto = v.get("ip_proto")
    if proto is None:
        return
    icmp = (proto == 1) | (proto == 58)
    has_src, has_dst = 7 in raw, 11 in raw
    if "icmp_type" in v:  # ICMP rows: src_port (or 0), dst_port 0
        if not has_src:
            v["src_port"], valid["src_port"] = np.zeros(n, np.int64), icmp
        if has_dst:
            v["dst_port"] = np.where(icmp, 0, v["dst_port"])
        else:
            v["dst_port"], valid["dst_port"] = np.zeros(n, np.int64), icmp
    elif has_dst and icmp.any():  # ICMP rows: type and code from dst_port, both ports 0
        v["icmp_type"] = np.where(icmp, v["dst_port"] >> 8, 0)
        v["icmp_code"] = np.where(icmp, v["dst_port"] & 0xFF, 0)
        valid["icmp_type"] = valid["icmp_code"] = icmp
        if has_src:
            v["src_port"] = np.where(icmp, 0, v["src_port"])
        else:
            v["src_port"], valid["src_port"] = np.zeros(n, np.int64), icmp
        v["dst_port"] = np.where(icmp, 0, v["dst_port"])
