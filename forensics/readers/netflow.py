"""NetFlow v5, v9 and IPFIX: one UDP payload in, ordered export events out.

No state lives here: `parse_export` splits one datagram into events (templates, withdrawals, data
sets, v5 records) in the order they appear, and `decode_data_set` turns one data set into field
dicts given its template. The collector (forensics.ingest.flow_exports) owns template state.

Field numbers are IANA IPFIX information elements; NetFlow v9 field types 1-127 are the same
numbers. Enterprise-specific IPFIX fields (bit 0x8000 of the element id) are skipped and counted.
"""

from __future__ import annotations

import functools
import struct
from collections import Counter
from dataclasses import dataclass, field

from forensics.netaddr import V4_MAPPED

VARLEN = 65535  # a template field length meaning "length given in the data record" (RFC 7011 7)

# Elements whose value is an address: 4 bytes = IPv4 (stored mapped), 16 bytes = IPv6.
ADDRESS_IES = frozenset({8, 12, 15, 18, 27, 28, 62, 63, 130, 131, 225, 226, 281, 282})
# Elements the flow record or the collector uses; every other element is skipped unread.
WANTED_IES = frozenset({
    1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 14, 15, 16, 17, 18, 21, 22, 23, 24, 27, 28, 32, 34, 48, 50, 58,
    60, 61, 62, 63, 85, 86, 139, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162,
    176, 177, 178, 179, 231, 232, 243, 252, 253, 298, 299, 302, 305, 306, 309, 310,
})
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


@dataclass(frozen=True)
class FieldSpec:
    """One template field: information element, length in bytes (65535 = variable), enterprise number."""

    ie: int
    length: int
    pen: int = 0


@dataclass(frozen=True)
class Template:
    """A (data or options) template as announced by an exporter."""

    template_id: int
    fields: tuple[FieldSpec, ...]
    scope_count: int = 0  # number of scope fields; > 0 (or options=True) for an options template
    options: bool = False

    @property
    def min_length(self) -> int:
        """Smallest possible data record length (a variable-length field takes at least 1 byte)."""
        return sum(1 if f.length == VARLEN else f.length for f in self.fields)

    @property
    def enterprise_fields(self) -> int:
        """Number of enterprise-specific fields (skipped when decoding)."""
        return sum(1 for f in self.fields if f.pen)


@dataclass(frozen=True)
class ExportHeader:
    """What a datagram's header says; the time base of its records."""

    version: int
    count: int
    export_secs: int  # unix seconds of the export
    export_usecs: int = 0  # sub-second part (v5 only)
    sys_uptime_ms: int | None = None  # v5 and v9 only
    sequence: int = 0
    domain: int = 0  # IPFIX observation domain, v9 source id, v5 engine_type << 8 | engine_id
    sampling_rate: int = 1  # v5 header sampling interval (1 = unsampled)


@dataclass(frozen=True)
class DataSet:
    """A data set (v9 FlowSet id >= 256, IPFIX Set id >= 256) still to be decoded with its template."""

    template_id: int
    body: bytes
    header: ExportHeader


@dataclass
class ParsedExport:
    """Events of one datagram in order: ('template', Template), ('withdraw', (template_id, options)),
    ('withdraw_all', options), ('data', DataSet), ('v5', record dict)."""

    header: ExportHeader | None
    events: list[tuple[str, object]] = field(default_factory=list)
    invalid: Counter = field(default_factory=Counter)


def plausible_export(payload: bytes) -> bool:
    """Cheap check that a payload is a NetFlow v5/v9 or IPFIX datagram (header and set lengths agree)."""
    n = len(payload)
    if n < 16:
        return False
    version = int.from_bytes(payload[0:2], "big")
    if version == 5:
        count = int.from_bytes(payload[2:4], "big")
        return 1 <= count <= 30 and n >= 24 + 48 * count and n <= 24 + 48 * count + 64
    if version == 9:
        return n >= 24 and _sets_fit(payload, 20, n, v9=True)
    if version == 10:
        length = int.from_bytes(payload[2:4], "big")
        return 20 <= length <= n and _sets_fit(payload, 16, length, v9=False)
    return False


def export_header_ok(payload: bytes) -> bool:
    """Looser check for captured datagrams (which may be cut short): version, count, first set header."""
    n = len(payload)
    if n < 20:
        return False
    version, count = struct.unpack_from("!HH", payload, 0)
    if version == 5:
        return 1 <= count <= 30
    if version == 9:
        if not 0 < count <= 1000 or n < 24:
            return False
        set_id, length = struct.unpack_from("!HH", payload, 20)
        return (set_id in (0, 1) or set_id >= 256) and length >= 4
    if version == 10:
        set_id, length = struct.unpack_from("!HH", payload, 16)
        return count >= 20 and (set_id in (2, 3) or set_id >= 256) and length >= 4
    return False


def _sets_fit(payload: bytes, pos: int, end: int, v9: bool) -> bool:
    sets = 0
    while pos + 4 <= end:
        set_id, length = struct.unpack_from("!HH", payload, pos)
        if length < 4 or pos + length > end:
            return False
        if v9 and not (set_id in (0, 1) or set_id >= 256):
            return False
        if not v9 and not (set_id in (2, 3) or set_id >= 256):
            return False
        pos += length
        sets += 1
    return sets > 0 and end - pos < 4


def parse_export(payload: bytes) -> ParsedExport:
    """Split one NetFlow v5/v9 or IPFIX datagram into events; damage is counted, never raised."""
    if len(payload) < 4:
        return ParsedExport(None, invalid=Counter({"truncated_header": 1}))
    version = int.from_bytes(payload[0:2], "big")
    if version == 5:
        return _parse_v5(payload)
    if version == 9:
        return _parse_v9(payload)
    if version == 10:
        return _parse_ipfix(payload)
    return ParsedExport(None, invalid=Counter({"unknown_version": 1}))


# ---- NetFlow v5 ---------------------------------------------------------------------------------

_V5_HEADER = struct.Struct("!HHIIIIBBH")
_V5_RECORD = struct.Struct("!IIIHHIIIIHHxBBBHHBBxx")


def v5_header(payload: bytes) -> tuple[ExportHeader | None, int]:
    """A v5 datagram's header and how many of the records it announces are whole in it ((None, 0): header cut)."""
    if len(payload) < _V5_HEADER.size:
        return None, 0
    (_, count, uptime, secs, nsecs, seq, eng_type, eng_id, sampling) = _V5_HEADER.unpack_from(payload, 0)
    interval = sampling & 0x3FFF
    header = ExportHeader(5, count, secs, nsecs // 1000, uptime, seq, (eng_type << 8) | eng_id,
                          interval if interval > 1 else 1)
    return header, min(count, (len(payload) - _V5_HEADER.size) // _V5_RECORD.size)


def _parse_v5(payload: bytes) -> ParsedExport:
    header, whole = v5_header(payload)
    if header is None:
        return ParsedExport(None, invalid=Counter({"truncated_header": 1}))
    out = ParsedExport(header)
    if whole < header.count:
        out.invalid["record_past_end"] += 1
    pos = _V5_HEADER.size
    for _ in range(whole):
        (src, dst, nh, in_if, out_if, pkts, octets, first, last, sport, dport, flags, proto, tos,
         src_as, dst_as, _smask, _dmask) = _V5_RECORD.unpack_from(payload, pos)
        pos += _V5_RECORD.size
        rec = {
            "ip_version": 4, "src_ip": V4_MAPPED | src, "dst_ip": V4_MAPPED | dst,
            "next_hop": V4_MAPPED | nh, "in_if": in_if, "out_if": out_if, "packets": pkts,
            "bytes": octets, "src_port": sport, "dst_port": dport, "tcp_flags": flags,
            "ip_proto": proto, "tos": tos, "src_as": src_as, "dst_as": dst_as,
            "first_ts_us": _uptime_to_us(header, first), "last_ts_us": _uptime_to_us(header, last),
            "sampling_rate": header.sampling_rate,
        }
        _icmp_from_port(rec)
        out.events.append(("v5", rec))
    return out


# ---- NetFlow v9 ---------------------------------------------------------------------------------


def _parse_v9(payload: bytes) -> ParsedExport:
    if len(payload) < 20:
        return ParsedExport(None, invalid=Counter({"truncated_header": 1}))
    _, count, uptime, secs, seq, source_id = struct.unpack_from("!HHIIII", payload, 0)
    header = ExportHeader(9, count, secs, 0, uptime, seq, source_id)
    out = ParsedExport(header)
    pos, end = 20, len(payload)
    while pos + 4 <= end:
        set_id, length = struct.unpack_from("!HH", payload, pos)
        if length < 4 or pos + length > end:
            out.invalid["set_length_past_end"] += 1
            break
        body = payload[pos + 4:pos + length]
        if set_id == 0:
            _v9_templates(body, out)
        elif set_id == 1:
            _v9_options_templates(body, out)
        elif set_id >= 256:
            out.events.append(("data", DataSet(set_id, body, header)))
        else:
            out.invalid["reserved_set_id"] += 1
        pos += length
    return out


def _v9_templates(body: bytes, out: ParsedExport) -> None:
    pos = 0
    while pos + 4 <= len(body):
        tid, nfields = struct.unpack_from("!HH", body, pos)
        pos += 4
        if pos + 4 * nfields > len(body):
            out.invalid["template_past_end"] += 1
            return
        fields = tuple(FieldSpec(*struct.unpack_from("!HH", body, pos + 4 * i)) for i in range(nfields))
        pos += 4 * nfields
        _add_template(out, Template(tid, fields), withdraw_ok=False)


def _v9_options_templates(body: bytes, out: ParsedExport) -> None:
    pos = 0
    while pos + 6 <= len(body):
        tid, scope_len, opt_len = struct.unpack_from("!HHH", body, pos)
        pos += 6
        if scope_len % 4 or opt_len % 4:
            out.invalid["template_contradicts_itself"] += 1
            return
        if pos + scope_len + opt_len > len(body):
            out.invalid["template_past_end"] += 1
            return
        n = (scope_len + opt_len) // 4
        fields = tuple(FieldSpec(*struct.unpack_from("!HH", body, pos + 4 * i)) for i in range(n))
        # v9 scope field types (system, interface, ...) are not IPFIX elements: mark them unread.
        fields = tuple(FieldSpec(0, f.length) if i < scope_len // 4 else f for i, f in enumerate(fields))
        pos += scope_len + opt_len
        _add_template(out, Template(tid, fields, scope_len // 4, options=True), withdraw_ok=False)
        if len(body) - pos < 6:  # padding to a 4-byte boundary
            return


def _add_template(out: ParsedExport, tpl: Template, withdraw_ok: bool) -> None:
    if tpl.template_id < 256:
        out.invalid["template_contradicts_itself"] += 1
        return
    if not tpl.fields:
        if withdraw_ok:
            out.events.append(("withdraw", (tpl.template_id, tpl.options)))
        else:
            out.invalid["template_contradicts_itself"] += 1
        return
    if tpl.scope_count > len(tpl.fields) or tpl.min_length == 0:
        out.invalid["template_contradicts_itself"] += 1
        return
    out.events.append(("template", tpl))


# ---- IPFIX --------------------------------------------------------------------------------------


def _parse_ipfix(payload: bytes) -> ParsedExport:
    if len(payload) < 16:
        return ParsedExport(None, invalid=Counter({"truncated_header": 1}))
    _, length, export_time, seq, domain = struct.unpack_from("!HHIII", payload, 0)
    header = ExportHeader(10, 0, export_time, 0, None, seq, domain)
    out = ParsedExport(header)
    if length < 16 or length > len(payload):
        out.invalid["message_length_past_end"] += 1
        length = len(payload)
    pos = 16
    while pos + 4 <= length:
        set_id, set_len = struct.unpack_from("!HH", payload, pos)
        if set_len < 4 or pos + set_len > length:
            out.invalid["set_length_past_end"] += 1
            break
        body = payload[pos + 4:pos + set_len]
        if set_id in (2, 3):
            _ipfix_templates(body, out, options=set_id == 3)
        elif set_id >= 256:
            out.events.append(("data", DataSet(set_id, body, header)))
        else:
            out.invalid["reserved_set_id"] += 1
        pos += set_len
    return out


def _ipfix_templates(body: bytes, out: ParsedExport, options: bool) -> None:
    pos = 0
    head = 6 if options else 4
    while pos + 4 <= len(body):
        tid, nfields = struct.unpack_from("!HH", body, pos)
        if nfields == 0:  # withdrawal (RFC 7011 8.1): 4 bytes even in an options template set
            pos += 4
            if tid == (3 if options else 2):
                out.events.append(("withdraw_all", options))
            else:
                _add_template(out, Template(tid, (), options=options), withdraw_ok=True)
            continue
        if pos + head > len(body):
            out.invalid["template_past_end"] += 1
            return
        scope = struct.unpack_from("!H", body, pos + 4)[0] if options else 0
        if options and (scope == 0 or scope > nfields):
            out.invalid["template_contradicts_itself"] += 1
            return
        pos += head
        fields = []
        for _ in range(nfields):
            if pos + 4 > len(body):
                out.invalid["template_past_end"] += 1
                return
            ie, flen = struct.unpack_from("!HH", body, pos)
            pos += 4
            pen = 0
            if ie & 0x8000:
                if pos + 4 > len(body):
                    out.invalid["template_past_end"] += 1
                    return
                pen = struct.unpack_from("!I", body, pos)[0]
                pos += 4
                ie &= 0x7FFF
            fields.append(FieldSpec(ie, flen, pen))
        _add_template(out, Template(tid, tuple(fields), scope, options), withdraw_ok=True)
        if len(body) - pos < 4:
            return


# ---- data records -------------------------------------------------------------------------------


@dataclass
class DecodedSet:
    """Field values of each record of one data set; `enterprise_values` counts skipped values."""

    records: list[dict[int, int]]
    enterprise_values: int = 0
    invalid: Counter = field(default_factory=Counter)


_INT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


@functools.lru_cache(maxsize=4096)
def _fixed_plan(fields: tuple[FieldSpec, ...]) -> tuple[struct.Struct, tuple[tuple[int, str], ...], int] | None:
    """For a template without variable-length fields: one struct for a whole record, the (element, kind)
    of each value it yields, and the enterprise values per record. None when a field needs the slow path."""
    fmt, outs, enterprise = ["!"], [], 0
    for f in fields:
        if f.length == VARLEN:
            return None
        if f.pen or f.ie not in WANTED_IES or f.length == 0:
            enterprise += 1 if f.pen else 0
            fmt.append(f"{f.length}x")
        elif f.ie in ADDRESS_IES and f.length in (4, 16):
            fmt.append("I" if f.length == 4 else "16s")
            outs.append((f.ie, "a4" if f.length == 4 else "a6"))
        elif f.length in _INT_CODES:
            fmt.append(_INT_CODES[f.length])
            outs.append((f.ie, "i"))
        elif f.length < 8:
            fmt.append(f"{f.length}s")
            outs.append((f.ie, "b"))
        else:
            fmt.append(f"{f.length}x")
    return struct.Struct("".join(fmt)), tuple(outs), enterprise


def _decode_fixed(plan: tuple[struct.Struct, tuple[tuple[int, str], ...], int], body: bytes) -> DecodedSet:
    st, outs, enterprise = plan
    n = len(body) // st.size
    records = []
    for values in st.iter_unpack(body[:n * st.size]):
        rec: dict[int, int] = {}
        for (ie, kind), v in zip(outs, values, strict=True):
            if kind == "i":
                rec[ie] = v
            elif kind == "a4":
                rec[ie] = V4_MAPPED | v
            elif kind == "a6":
                rec[ie] = int.from_bytes(v, "big")
                rec[-ie] = 6
            else:
                rec[ie] = int.from_bytes(v, "big")
        records.append(rec)
    return DecodedSet(records, enterprise * n)


def decode_data_set(tpl: Template, body: bytes) -> DecodedSet:
    """Field dicts {element id: int value} for every record of a data set (padding ignored)."""
    if tpl.min_length:
        plan = _fixed_plan(tpl.fields)
        if plan is not None:
            return _decode_fixed(plan, body)
    return decode_data_set_fieldwise(tpl, body)


def decode_data_set_fieldwise(tpl: Template, body: bytes) -> DecodedSet:
    """decode_data_set one field at a time: any template, variable-length fields included."""
    out = DecodedSet([])
    min_len = tpl.min_length
    if min_len == 0:
        out.invalid["template_contradicts_itself"] += 1
        return out
    pos, end = 0, len(body)
    has_varlen = any(f.length == VARLEN for f in tpl.fields)
    while end - pos >= min_len:
        values: dict[int, int] = {}
        for f in tpl.fields:
            flen = f.length
            if flen == VARLEN:
                if pos >= end:
                    flen = -1
                else:
                    flen = body[pos]
                    pos += 1
                    if flen == 255:
                        if pos + 2 > end:
                            flen = -1
                        else:
                            flen = int.from_bytes(body[pos:pos + 2], "big")
                            pos += 2
            if flen < 0 or pos + flen > end:
                if has_varlen:
                    out.invalid["record_past_end"] += 1
                return out
            if f.pen:
                out.enterprise_values += 1
            elif f.ie in WANTED_IES and flen:
                raw = body[pos:pos + flen]
                if f.ie in ADDRESS_IES and flen in (4, 16):
                    v = int.from_bytes(raw, "big")
                    values[f.ie] = V4_MAPPED | v if flen == 4 else v
                    if flen == 16:
                        values[-f.ie] = 6
                elif flen <= 8:
                    values[f.ie] = int.from_bytes(raw, "big")
            pos += flen
        out.records.append(values)
    return out


def sampling_from_values(v: dict[int, int]) -> int | None:
    """1-in-N sampling rate carried by a record or options record, None when it carries none."""
    for ie in (34, 50):
        if v.get(ie):
            return int(v[ie])
    if v.get(305):
        return (v[305] + v.get(306, 0)) // v[305]
    if v.get(309) and v.get(310):
        return max(1, v[310] // v[309])
    return None


def flow_record(v: dict[int, int], header: ExportHeader, sampling: int | None,
                init_time_ms: int | None) -> dict:
    """A flow record dict (forensics.records.FLOW_RECORD_KEYS subset) from decoded field values."""
    src = v.get(8, v.get(27))
    dst = v.get(12, v.get(28))
    ipv = 6 if (v.get(-27) or v.get(-28) or v.get(60) == 6) else (4 if src is not None else v.get(60))
    bytes_ = _first(v, 1, 85, 23)
    if bytes_ is None and (231 in v or 232 in v):
        bytes_ = v.get(231, 0) + v.get(232, 0)
    packets = _first(v, 2, 86, 24)
    if packets is None and (298 in v or 299 in v):
        packets = v.get(298, 0) + v.get(299, 0)
    first_us, last_us = _record_times(v, header, init_time_ms)
    rec = {
        "ip_version": ipv, "src_ip": src, "dst_ip": dst, "ip_proto": v.get(4),
        "src_port": v.get(7), "dst_port": v.get(11), "tos": v.get(5), "tcp_flags": v.get(6),
        "in_if": _first(v, 10, 252), "out_if": _first(v, 14, 253), "src_as": v.get(16),
        "dst_as": v.get(17), "next_hop": _first(v, 15, 62, 18, 63),
        "direction": v.get(61), "vlan": _first(v, 58, 243),
        "packets": packets or 0, "bytes": bytes_ or 0,
        "first_ts_us": first_us, "last_ts_us": last_us,
        "sampling_rate": sampling_from_values(v) or sampling or 1,
    }
    if rec["vlan"] is not None and rec["vlan"] > 4095:
        rec["vlan"] = None
    for ie_t, ie_c in ((176, 177), (178, 179)):
        if ie_t in v:
            rec["icmp_type"], rec["icmp_code"] = v[ie_t], v.get(ie_c)
    for ie in (32, 139):
        if ie in v and "icmp_type" not in rec:
            rec["icmp_type"], rec["icmp_code"] = v[ie] >> 8, v[ie] & 0xFF
    if "icmp_type" not in rec:
        _icmp_from_port(rec)
    elif rec["ip_proto"] in (1, 58):
        rec["src_port"], rec["dst_port"] = rec["src_port"] or 0, 0
    return rec


def _first(v: dict[int, int], *ies: int) -> int | None:
    for ie in ies:
        if ie in v:
            return v[ie]
    return None


def _icmp_from_port(rec: dict) -> None:
    """NetFlow's ICMP convention (dst_port = type * 256 + code) moved into icmp_type/icmp_code."""
    if rec.get("ip_proto") in (1, 58) and rec.get("dst_port") is not None:
        rec["icmp_type"], rec["icmp_code"] = rec["dst_port"] >> 8, rec["dst_port"] & 0xFF
        rec["src_port"], rec["dst_port"] = 0, 0


def _uptime_to_us(h: ExportHeader, uptime_ms: int) -> int:
    """A sysUptime-relative time (ms) as unix microseconds, using the header's uptime and clock."""
    diff = (h.sys_uptime_ms or 0) - uptime_ms
    if diff < -(1 << 31):
        diff += 1 << 32
    elif diff > (1 << 31):
        diff -= 1 << 32
    return h.export_secs * 1_000_000 + h.export_usecs - diff * 1000


def _ntp_to_us(value: int) -> int:
    secs, frac = value >> 32, value & 0xFFFFFFFF
    return (secs - NTP_EPOCH_OFFSET) * 1_000_000 + (frac * 1_000_000 >> 32)


def _record_times(v: dict[int, int], h: ExportHeader, init_time_ms: int | None) -> tuple[int, int]:
    export_us = h.export_secs * 1_000_000 + h.export_usecs
    first = last = None
    if 150 in v or 151 in v:
        first, last = _opt_mul(v.get(150), 1_000_000), _opt_mul(v.get(151), 1_000_000)
    elif 152 in v or 153 in v:
        first, last = _opt_mul(v.get(152), 1000), _opt_mul(v.get(153), 1000)
    elif 154 in v or 155 in v or 156 in v or 157 in v:
        s, e = v.get(154, v.get(156)), v.get(155, v.get(157))
        first = _ntp_to_us(s) if s is not None else None
        last = _ntp_to_us(e) if e is not None else None
    elif 158 in v or 159 in v:
        first = export_us - v[158] if 158 in v else None
        last = export_us - v[159] if 159 in v else None
    elif 22 in v or 21 in v:
        init = v.get(160, init_time_ms)
        if h.sys_uptime_ms is not None:  # NetFlow v9: relative to the header's sysUptime
            first = _uptime_to_us(h, v[22]) if 22 in v else None
            last = _uptime_to_us(h, v[21]) if 21 in v else None
        elif init is not None:  # IPFIX: relative to systemInitTimeMilliseconds
            first = (init + v[22]) * 1000 if 22 in v else None
            last = (init + v[21]) * 1000 if 21 in v else None
        else:  # IPFIX without an init time: assume the flow ended at export time
            end_up = v.get(21, v.get(22))
            first = export_us - (end_up - v[22]) * 1000 if 22 in v else None
            last = export_us
    duration = _first(v, 161)
    duration_us = duration * 1000 if duration is not None else v.get(162)
    if first is not None and last is None:
        last = first + duration_us if duration_us is not None else first
    elif last is not None and first is None:
        first = last - duration_us if duration_us is not None else last
    if first is None:
        first = last = export_us
    return first, last


def _opt_mul(value: int | None, factor: int) -> int | None:
    return None if value is None else value * factor


# ---- sequence numbers: export datagrams or records the collector never received ----------------------------

# What the header's sequence number counts, per version (v5: flows; NetFlow v9, RFC 3954 5.1: export packets;
# IPFIX, RFC 7011 3.1: data records), and so what a gap counts.
SEQUENCE_UNITS = {5: "flows", 9: "export packets", 10: "data records"}


@dataclass(frozen=True)
class SequenceGap:
    """Datagrams or records lost between two export datagrams of one exporter and observation domain."""

    version: int
    expected: int  # the sequence number the datagram after the previous one should have carried
    got: int  # the sequence number it carried
    lost: int  # (got - expected) mod 2^32, in SEQUENCE_UNITS[version]
    before_us: int  # export time of the datagram before the gap (unix microseconds)
    after_us: int  # export time of the datagram after it


class SequenceTracker:
    """Follows the sequence numbers of each (exporter, observation domain, version) through one import.

    `step(key, header, records)` checks a datagram against the number the previous datagram of the same key led
    to expect and returns the gap, if any. The next expected number is the datagram's sequence plus what it
    carried: 1 (v9), its flow count (v5) or its data records (IPFIX; `records` None when some of its data sets
    wait for a template, which leaves the next datagram unchecked). A number behind the expected one (a
    reordered or repeated datagram, or an exporter restart) is no gap: the count starts again from it.
    """

    def __init__(self) -> None:
        self._next: dict[tuple, tuple[int, int]] = {}  # key -> (expected sequence, export time us)

    def step(self, key: tuple, header: ExportHeader, records: int | None) -> SequenceGap | None:
        at_us = header.export_secs * 1_000_000 + header.export_usecs
        seq = header.sequence & 0xFFFFFFFF
        gap = None
        prev = self._next.get(key)
        if prev is not None:
            expected, before_us = prev
            lost = (seq - expected) & 0xFFFFFFFF
            if 0 < lost < 1 << 31:
                gap = SequenceGap(header.version, expected, seq, lost, before_us, at_us)
        carried = {5: header.count, 9: 1}.get(header.version, records)
        if carried is None:
            self._next.pop(key, None)
        else:
            self._next[key] = ((seq + carried) & 0xFFFFFFFF, at_us)
        return gap
