"""sFlow v5 datagrams: flow samples become flow records, counter samples become counter rows.

One flow sample (compact or expanded) is one flow record: packets = 1 (the sampled packet), bytes =
its IP-layer length (from the sampled header, else the sampled IPv4/IPv6 record, else the frame
length), sampling_rate = the sample's rate. Sampled packet headers are decoded by the same packet
decoder the pcap importer uses (forensics.readers.exact.decode_packet). sFlow carries no clock, so
the record's times are the capture time of the datagram.
"""

from __future__ import annotations

import struct
from collections import Counter
from dataclasses import dataclass, field

from forensics.netaddr import V4_MAPPED
from forensics.readers.exact import decode_packet

# sFlow header_protocol -> LINKTYPE
HEADER_LINKTYPES = {1: 1, 11: 228, 12: 229}

COUNTER_COLUMNS = [
    "if_index", "if_type", "if_speed", "if_direction", "if_status", "in_octets", "in_ucast_pkts",
    "in_mcast_pkts", "in_bcast_pkts", "in_discards", "in_errors", "in_unknown_protos", "out_octets",
    "out_ucast_pkts", "out_mcast_pkts", "out_bcast_pkts", "out_discards", "out_errors", "promiscuous",
]
_GENERIC_IF = struct.Struct("!IIQIIQIIIIIIQIIIIII")


@dataclass
class SflowDatagram:
    """Decoded datagram: agent, flow records (dicts) and counter rows (dicts), damage counted."""

    agent_ip: int | None = None
    sub_agent_id: int = 0
    sequence: int = 0
    uptime_ms: int = 0
    flows: list[dict] = field(default_factory=list)
    counters: list[dict] = field(default_factory=list)
    invalid: Counter = field(default_factory=Counter)


def plausible_sflow(payload: bytes) -> bool:
    """Cheap check: sFlow v5 version word, a known agent address type, a plausible sample count and a
    known first sample format (lengths are checked when decoding, so a cut datagram still counts)."""
    if len(payload) < 28 or payload[0:4] != b"\x00\x00\x00\x05":
        return False
    addr_type = int.from_bytes(payload[4:8], "big")
    if addr_type not in (1, 2):
        return False
    pos = 8 + (4 if addr_type == 1 else 16) + 12
    if pos + 4 > len(payload):
        return False
    n = int.from_bytes(payload[pos:pos + 4], "big")
    if n == 0 or n > 1000:
        return n == 0 and pos + 4 == len(payload)
    if pos + 12 > len(payload):
        return True
    fmt = int.from_bytes(payload[pos + 4:pos + 8], "big")
    return fmt >> 12 != 0 or 1 <= fmt <= 4


class _Buf:
    """Big-endian XDR reader over a slice; `ok` turns False once a read runs past the end."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else end
        self.ok = True

    def u32(self) -> int:
        if self.pos + 4 > self.end:
            self.ok = False
            return 0
        v = int.from_bytes(self.data[self.pos:self.pos + 4], "big")
        self.pos += 4
        return v

    def u64(self) -> int:
        return (self.u32() << 32) | self.u32()

    def raw(self, n: int) -> bytes:
        if self.pos + n > self.end:
            self.ok = False
            return b""
        v = self.data[self.pos:self.pos + n]
        self.pos += n
        return v

    def address(self) -> int | None:
        kind = self.u32()
        if kind == 1:
            return V4_MAPPED | self.u32()
        if kind == 2:
            return int.from_bytes(self.raw(16), "big")
        return None


def parse_sflow(payload: bytes, ts_us: int) -> SflowDatagram:
    """Decode one sFlow v5 datagram captured at ts_us; never raises for damaged input."""
    out = SflowDatagram()
    b = _Buf(payload)
    if b.u32() != 5:
        out.invalid["unknown_version"] += 1
        return out
    out.agent_ip = b.address()
    out.sub_agent_id, out.sequence, out.uptime_ms, n = b.u32(), b.u32(), b.u32(), b.u32()
    if not b.ok or out.agent_ip is None:
        out.invalid["truncated_header"] += 1
        return out
    for _ in range(n):
        fmt, length = b.u32(), b.u32()
        if not b.ok or b.pos + length > b.end:
            out.invalid["sample_past_end"] += 1
            break
        sample = _Buf(payload, b.pos, b.pos + length)
        b.pos += length
        enterprise, kind = fmt >> 12, fmt & 0xFFF
        if enterprise != 0:
            out.invalid["unsupported_sample_format"] += 1
        elif kind in (1, 3):
            rec = _flow_sample(sample, expanded=kind == 3, ts_us=ts_us)
            if rec is None:
                out.invalid["sample_past_end"] += 1
            else:
                out.flows.append(rec)
        elif kind in (2, 4):
            rows = _counter_sample(sample, expanded=kind == 4)
            if rows is None:
                out.invalid["sample_past_end"] += 1
            else:
                out.counters.extend(rows)
        else:
            out.invalid["unsupported_sample_format"] += 1
    return out


def _iface(fmt_value: int) -> int | None:
    fmt, value = fmt_value >> 30, fmt_value & 0x3FFFFFFF
    return value if fmt == 0 else None


def _flow_sample(s: _Buf, expanded: bool, ts_us: int) -> dict | None:
    s.u32()  # sequence number
    if expanded:
        s.u32(), s.u32()  # source id type, index
    else:
        s.u32()  # source id
    rate, _pool, _drops = s.u32(), s.u32(), s.u32()
    if expanded:
        in_fmt, in_val, out_fmt, out_val = s.u32(), s.u32(), s.u32(), s.u32()
        in_if = in_val if in_fmt == 0 else None
        out_if = out_val if out_fmt == 0 else None
    else:
        in_if, out_if = _iface(s.u32()), _iface(s.u32())
    n = s.u32()
    if not s.ok:
        return None
    rec: dict = {"first_ts_us": ts_us, "last_ts_us": ts_us, "packets": 1, "bytes": 0,
                 "sampling_rate": max(rate, 1), "in_if": in_if, "out_if": out_if}
    frame_length = None
    have_header = False
    for _ in range(n):
        fmt, length = s.u32(), s.u32()
        if not s.ok or s.pos + length > s.end:
            return None
        r = _Buf(s.data, s.pos, s.pos + length)
        s.pos += length
        if fmt == 1:
            frame_length = _raw_header(r, rec)
            have_header = True
        elif fmt in (3, 4) and not have_header:
            _sampled_ip(r, rec, v6=fmt == 4)
        elif fmt == 1001:
            vlan = r.u32()
            if r.ok and 0 < vlan < 4096:
                rec["vlan"] = vlan
        elif fmt == 1002:
            rec["next_hop"] = r.address()
        elif fmt == 1003:
            rec["next_hop"] = r.address()
            r.u32()  # router's own AS
            rec["src_as"] = r.u32()
            r.u32()  # src peer AS
            dst_as = None
            for _seg in range(r.u32() if r.ok else 0):
                r.u32()  # segment type
                count = r.u32() if r.ok else 0
                if count * 4 > r.end - r.pos:  # more AS numbers than bytes left (a damaged count): stop here,
                    r.ok = False  # not after 4 billion reads past the end
                    break
                for _asn in range(count):
                    dst_as = r.u32()
                if not r.ok:
                    break
            rec["dst_as"] = dst_as
    if not rec["bytes"] and frame_length:
        rec["bytes"] = frame_length
    return rec


def _raw_header(r: _Buf, rec: dict) -> int | None:
    proto, frame_length, stripped, hlen = r.u32(), r.u32(), r.u32(), r.u32()
    data = r.raw(hlen)
    if not r.ok:
        return None
    linktype = HEADER_LINKTYPES.get(proto)
    if linktype is None:
        return frame_length
    d = decode_header(linktype, data, frame_length - stripped if frame_length > stripped else len(data))
    if d.get("ip_version", -1) in (4, 6):
        rec["ip_version"] = d["ip_version"]
        rec["src_ip"] = (d["src_hi"] << 64) | d["src_lo"]
        rec["dst_ip"] = (d["dst_hi"] << 64) | d["dst_lo"]
        for k in ("ip_proto", "src_port", "dst_port", "tcp_flags", "icmp_type", "icmp_code"):
            if d.get(k, -1) >= 0:
                rec[k] = int(d[k])
        if d.get("ip_len", -1) > 0:
            rec["bytes"] = int(d["ip_len"])
    if d.get("vlan", -1) >= 0 and "vlan" not in rec:
        rec["vlan"] = int(d["vlan"])
    return frame_length


def _sampled_ip(r: _Buf, rec: dict, v6: bool) -> None:
    length, proto = r.u32(), r.u32()
    if v6:
        src, dst = int.from_bytes(r.raw(16), "big"), int.from_bytes(r.raw(16), "big")
    else:
        src, dst = V4_MAPPED | r.u32(), V4_MAPPED | r.u32()
    sport, dport, flags, tos = r.u32(), r.u32(), r.u32(), r.u32()
    if not r.ok:
        return
    rec.update({"ip_version": 6 if v6 else 4, "src_ip": src, "dst_ip": dst, "ip_proto": proto,
                "src_port": sport, "dst_port": dport, "tcp_flags": flags, "tos": tos, "bytes": length})
    if proto in (1, 58):
        rec["icmp_type"], rec["icmp_code"], rec["src_port"], rec["dst_port"] = sport, dport, 0, 0


def _counter_sample(s: _Buf, expanded: bool) -> list[dict] | None:
    seq = s.u32()
    if expanded:
        source_type, source_index = s.u32(), s.u32()
    else:
        src = s.u32()
        source_type, source_index = src >> 24, src & 0xFFFFFF
    n = s.u32()
    if not s.ok:
        return None
    rows = []
    for _ in range(n):
        fmt, length = s.u32(), s.u32()
        if not s.ok or s.pos + length > s.end:
            return None
        row: dict = {"sample_sequence": seq, "source_id_type": source_type, "source_id_index": source_index,
                     "record_enterprise": fmt >> 12, "record_format": fmt & 0xFFF, "record_length": length}
        if fmt == 1 and length >= _GENERIC_IF.size:
            row.update(zip(COUNTER_COLUMNS, _GENERIC_IF.unpack_from(s.data, s.pos), strict=False))
        s.pos += length
        rows.append(row)
    return rows


def decode_header(linktype: int, data: bytes, wirelen: int) -> dict:
    """Decode a sampled packet header with the pcap importer's exact decoder."""
    return decode_packet(linktype, data, wirelen)
