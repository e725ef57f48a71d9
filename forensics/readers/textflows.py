"""Text flow files: nfdump CSV, Zeek conn.log (TSV and JSON lines), Suricata eve.json flow/netflow.

Each reader takes the file's lines (bytes) and yields flow record dicts (forensics.records
FLOW_RECORD_KEYS, `record_pos` = line number from 1), or `{"invalid": reason}` for a line it cannot
read. Connection records (Zeek conn, Suricata `flow`) are two-way: they become one record per
direction that carried packets (originator -> responder always, the reverse when it has packets),
both with the line's record_pos, so packets and bytes keep NetFlow's one-way meaning.

Byte semantics follow each tool: nfdump bytes and Zeek `*_ip_bytes` are IP-layer bytes; Suricata
counts whole packets (link layer included) and is stored as it counts. Times without a zone (nfdump
CSV) are read as UTC.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator

from forensics.netaddr import ip_to_int

PROTOCOLS = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ah": 51, "icmp6": 58,
             "ipv6-icmp": 58, "icmpv6": 58, "sctp": 132, "udplite": 136}
_TCP_FLAG_LETTERS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32, "E": 64, "C": 128}
_EPOCH = dt.datetime(1970, 1, 1)


def _proto(value: object) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    return PROTOCOLS.get(text.lower())


def parse_addr(text: object) -> int | None:
    """Address text -> int in the mapped space (forensics.netaddr); None for empty, '-' or unparsable."""
    if text is None or text in ("", "-"):
        return None
    try:
        return ip_to_int(str(text))
    except ValueError:
        return None


def addr_version(addr: int | None) -> int | None:
    """4 for an IPv4-mapped value, 6 otherwise, None for None."""
    if addr is None:
        return None
    return 4 if addr >> 32 == 0xFFFF else 6


def text_to_us(text: str) -> int:
    """'2024-01-02 03:04:05[.fff]' or ISO 8601 with an optional zone -> unix microseconds (UTC)."""
    t = text.strip().replace(" ", "T", 1)
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    if len(t) > 5 and t[-5] in "+-" and t[-4:].isdigit():  # +0000 -> +00:00
        t = t[:-2] + ":" + t[-2:]
    d = dt.datetime.fromisoformat(t)
    if d.tzinfo is not None:
        d = d.astimezone(dt.timezone.utc).replace(tzinfo=None)
    delta = d - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def tcp_flag_letters(text: str) -> int:
    """nfdump's flag string ('...AP.SF', letters C E U A P R S F) -> TCP flag bits."""
    return sum(_TCP_FLAG_LETTERS.get(c, 0) for c in text.strip().upper())


def _int(value: object) -> int | None:
    if value is None or value in ("", "-"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return int(float(str(value)))


def _icmp(rec: dict, type_: int | None, code: int | None) -> None:
    rec["icmp_type"], rec["icmp_code"] = type_, code
    rec["src_port"], rec["dst_port"] = 0, 0


# ---- nfdump CSV ---------------------------------------------------------------------------------


def read_nfdump_csv(lines: Iterable[bytes], path: str) -> Iterator[dict]:
    """Records of `nfdump -o csv` output (header line `ts,te,td,sa,da,...`; stops at `Summary`)."""
    cols: list[str] | None = None
    for lineno, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8", "replace").strip()
        if not line:
            continue
        if cols is None:
            if line.startswith("ts,"):
                cols = line.split(",")
            continue
        if line.startswith("Summary") or line == "No matching flows":
            break
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < len(cols):
            yield {"invalid": "short_csv_line"}
            continue
        f = dict(zip(cols, parts, strict=False))
        try:
            yield _nfdump_csv_record(f, lineno)
        except (ValueError, KeyError):
            yield {"invalid": "bad_csv_value"}


def _nfdump_csv_record(f: dict, lineno: int) -> dict:
    first = text_to_us(f["ts"])
    td = f.get("td")
    last = first + round(float(td) * 1_000_000) if td else text_to_us(f["te"])
    src, dst = parse_addr(f.get("sa")), parse_addr(f.get("da"))
    rec = {
        "source": "nfdump_csv", "record_pos": lineno, "first_ts_us": first, "last_ts_us": last,
        "ip_version": addr_version(src), "src_ip": src, "dst_ip": dst, "ip_proto": _proto(f.get("pr")),
        "tcp_flags": tcp_flag_letters(f.get("flg", "")), "tos": _int(f.get("stos")),
        "packets": _int(f.get("ipkt")) or 0, "bytes": _int(f.get("ibyt")) or 0,
        "in_if": _int(f.get("in")), "out_if": _int(f.get("out")), "src_as": _int(f.get("sas")),
        "dst_as": _int(f.get("das")), "direction": _int(f.get("dir")),
        "next_hop": parse_addr(f.get("nh")) if f.get("nh") not in ("0.0.0.0", "::") else None,
        "exporter_ip": parse_addr(f.get("ra")) if f.get("ra") not in ("0.0.0.0", "::") else None,
        "vlan": _int(f.get("svln")) or None,
    }
    sp, dp = f.get("sp", "0"), f.get("dp", "0")
    if rec["ip_proto"] in (1, 58):
        if "." in dp:
            t, c = dp.split(".", 1)
            _icmp(rec, int(t), int(c))
        else:
            v = _int(dp) or 0
            _icmp(rec, v >> 8, v & 0xFF)
    else:
        rec["src_port"], rec["dst_port"] = _int(sp), _int(dp)
    return rec


# ---- Zeek conn.log ------------------------------------------------------------------------------


class ZeekTsvHeader:
    """What a Zeek TSV log's header lines said so far: separator, unset and empty markers, field names."""

    def __init__(self) -> None:
        self.sep, self.unset, self.empty = "\t", "-", "(empty)"
        self.fields: list[str] | None = None

    def read(self, line: str) -> None:
        """One header line (starting with '#')."""
        if line.startswith("#separator"):
            self.sep = line.split(" ", 1)[1].encode().decode("unicode_escape")
        elif line.startswith("#unset_field"):
            self.unset = line.split(self.sep, 1)[1]
        elif line.startswith("#empty_field"):
            self.empty = line.split(self.sep, 1)[1]
        elif line.startswith("#fields"):
            self.fields = line.split(self.sep)[1:]


def read_zeek_tsv(lines: Iterable[bytes], path: str) -> Iterator[dict]:
    """Records of a Zeek conn.log in its tab-separated form (`#fields` header)."""
    header = ZeekTsvHeader()
    for lineno, raw in enumerate(lines, start=1):
        yield from zeek_tsv_line(raw, lineno, header)


def zeek_tsv_line(raw: bytes, lineno: int, header: ZeekTsvHeader) -> Iterator[dict]:
    """The records of one line of a Zeek TSV log (a header line updates `header` and gives none)."""
    line = raw.decode("utf-8", "replace").rstrip("\r\n")
    if not line:
        return
    if line.startswith("#"):
        header.read(line)
        return
    if header.fields is None:
        yield {"invalid": "zeek_line_before_fields"}
        return
    parts = line.split(header.sep)
    if len(parts) != len(header.fields):
        yield {"invalid": "zeek_field_count"}
        return
    row = {k: (None if v in (header.unset, header.empty) else v) for k, v in zip(header.fields, parts, strict=False)}
    yield from _zeek_records(row, lineno)


def read_zeek_json(lines: Iterable[bytes], path: str, first_lineno: int = 1) -> Iterator[dict]:
    """Records of a Zeek conn.log written as JSON lines (LogAscii::use_json); lines numbered from
    `first_lineno`."""
    for lineno, raw in enumerate(lines, start=first_lineno):
        line = raw.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            yield {"invalid": "bad_json_line"}
            continue
        if not isinstance(row, dict):
            yield {"invalid": "bad_json_line"}
            continue
        yield from _zeek_records(row, lineno)


def _zeek_records(row: dict, lineno: int) -> Iterator[dict]:
    try:
        ts = row["ts"]
        first = text_to_us(ts) if isinstance(ts, str) and "-" in ts else round(float(ts) * 1_000_000)
        duration = row.get("duration")
        last = first + (round(float(duration) * 1_000_000) if duration not in (None, "") else 0)
        orig, resp = parse_addr(row["id.orig_h"]), parse_addr(row["id.resp_h"])
        oport, rport = _int(row.get("id.orig_p")), _int(row.get("id.resp_p"))
        proto = _proto(row.get("proto"))
        if proto == 1 and addr_version(orig) == 6:
            proto = 58
        counts = [(_int(row.get("orig_pkts")) or 0, _int(row.get("orig_ip_bytes")) or 0),
                  (_int(row.get("resp_pkts")) or 0, _int(row.get("resp_ip_bytes")) or 0)]
    except (KeyError, ValueError, TypeError):
        yield {"invalid": "bad_zeek_record"}
        return
    ends = [(orig, oport, resp, rport), (resp, rport, orig, oport)]
    for direction, ((pkts, byts), (src, sport, dst, dport)) in enumerate(zip(counts, ends, strict=False)):
        if direction == 1 and pkts == 0:
            break
        rec = {"source": "zeek", "record_pos": lineno, "first_ts_us": first, "last_ts_us": last,
               "ip_version": addr_version(src), "src_ip": src, "dst_ip": dst, "ip_proto": proto,
               "src_port": sport, "dst_port": dport, "packets": pkts, "bytes": byts}
        if proto in (1, 58):  # Zeek puts the ICMP type in orig_p and the code in resp_p
            _icmp(rec, oport if direction == 0 else None, rport if direction == 0 else None)
        yield rec


# ---- Suricata EVE -------------------------------------------------------------------------------


def read_suricata_eve(lines: Iterable[bytes], path: str, first_lineno: int = 1) -> Iterator[dict]:
    """Records of Suricata eve.json `flow` and `netflow` events; other event types are passed over. Lines are
    numbered from `first_lineno`."""
    for lineno, raw in enumerate(lines, start=first_lineno):
        line = raw.strip()
        if not line:
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            yield {"invalid": "bad_json_line"}
            continue
        if not isinstance(ev, dict) or ev.get("event_type") not in ("flow", "netflow"):
            continue
        try:
            yield from _eve_records(ev, lineno)
        except (KeyError, ValueError, TypeError, AttributeError, IndexError):  # ("flow": null, "tcp": "x", ...)
            yield {"invalid": "bad_eve_record"}


def _eve_records(ev: dict, lineno: int) -> Iterator[dict]:
    src, dst = parse_addr(ev["src_ip"]), parse_addr(ev["dest_ip"])
    sport, dport = _int(ev.get("src_port")), _int(ev.get("dest_port"))
    proto = _proto(ev.get("proto"))
    vlans = ev.get("vlan") or []
    vlan = vlans[0] if vlans else None
    tcp = ev.get("tcp") or {}
    if ev["event_type"] == "netflow":
        nf = ev["netflow"]
        sides = [(nf.get("pkts", 0), nf.get("bytes", 0), src, sport, dst, dport, tcp.get("tcp_flags"))]
        body = nf
    else:
        fl = ev["flow"]
        sides = [
            (fl.get("pkts_toserver", 0), fl.get("bytes_toserver", 0), src, sport, dst, dport,
             tcp.get("tcp_flags_ts")),
            (fl.get("pkts_toclient", 0), fl.get("bytes_toclient", 0), dst, dport, src, sport,
             tcp.get("tcp_flags_tc")),
        ]
        body = fl
    first, last = text_to_us(body["start"]), text_to_us(body.get("end", body["start"]))
    for i, (pkts, byts, s, sp, d, dp, flags) in enumerate(sides):
        if i == 1 and not pkts:
            break
        rec = {"source": "suricata", "record_pos": lineno, "first_ts_us": first, "last_ts_us": last,
               "ip_version": addr_version(s), "src_ip": s, "dst_ip": d, "ip_proto": proto,
               "src_port": sp, "dst_port": dp, "packets": int(pkts), "bytes": int(byts), "vlan": vlan,
               "tcp_flags": int(flags, 16) if isinstance(flags, str) and flags else None}
        if proto in (1, 58):
            prefix = "response_" if i == 1 else ""
            _icmp(rec, ev.get(prefix + "icmp_type"), ev.get(prefix + "icmp_code"))
        yield rec
