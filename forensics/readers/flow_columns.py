"""NetFlow v5 records decoded a batch at a time: numpy columns instead of one dict per record.

A v5 record is a fixed 48-byte row, so the records of many datagrams laid end to end are one numpy
structured array; each datagram's header (time base, sampling, exporter, position) is repeated over
its records. `V5Batch.columns()` gives the same values forensics.readers.netflow's per-record path
(`parse_export` -> ('v5', dict)) gives, as columns keyed like forensics.records.FLOW_RECORD_KEYS.

The columns are a forensics.records.FlowColumns.
"""

from __future__ import annotations

import numpy as np

from forensics.netaddr import V4_MAPPED
from forensics.readers.netflow import ExportHeader
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
