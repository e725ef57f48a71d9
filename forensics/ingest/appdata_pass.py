"""Application metadata for one capture, inside its import transaction, after its packets are stored.

Candidates are chosen from the packets' decoded headers (no payload is looked at for the others), batch
by batch while the capture is decoded (forensics.appdata.select), or else in SQL over the capture's stored
packet rows (queries/derive/appdata_candidates.sql, the same choice):

- UDP with port 53, 5353, 5355, 67, 68, 546, 547 or 123 on either side: every packet.
- TCP with port 53 (DNS), 25, 587 or 2525 (SMTP) on either side: every packet that may carry payload.
- UDP 443: the first FIRST_SEGMENTS packets of each 5-tuple (direction): a client's QUIC Initials.
- Any other UDP port: the first packet of each 5-tuple (each direction), read
  as DNS when its header passes the sanity check of forensics.appdata.dns.plausible: DNS to a resolver on
  a non-standard port, or its answers, is caught when it opens a 5-tuple (clients pick a new source port
  per query, so that is most queries).
- Any TCP port: the first FIRST_SEGMENTS segments that may carry payload (PSH set, or an IP length past
  the largest headers) of each 5-tuple and direction: a TLS Client/ServerHello and an HTTP/1.x request
  or response head on any port. Later requests on a kept-alive HTTP connection are not read (cost).

IP fragments are not reassembled: a message split over fragments is not read (tshark reassembles it).
Neither are TCP streams, except that a TLS hello cut by its segment is joined with the next candidate
segments of its direction. A TCP retransmission is read again (a second row, as Zeek logs it; tshark does not).

Their payloads are located in the file's mapped bytes at packets.file_offset by compiled code
(forensics.appdata.records.payload_spans; other link types through the exact decoder); TCP directions none of
whose candidate segments starts like a TLS hello or an HTTP head are dropped there, before any Python
object is made (the parsers would read nothing in them). Regular DNS and NTP messages over UDP are read
there too, straight into Arrow columns (forensics.appdata.fastpath); the rest are parsed by forensics.appdata
in Python. All are written with the capture's other rows; `appdata_counts` keeps rows and malformed
payloads per table. Nothing here stops an import: a capture file that cannot be read back is skipped.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import pyarrow as pa

from forensics.appdata import Candidate, dhcp6, extract, fastpath, http, quic, smtp
from forensics.appdata.extract import DHCP_PORTS, DNS_PORTS, NTP_PORT, TABLES, Extracted
from forensics.appdata.kept_frames import KeptFrames, frame_source
from forensics.appdata.records import frame_starts, let_go, payload_spans, read_frames, slices, transport_payload
from forensics.appdata.select import FIRST_SEGMENTS, KEPT_AT
from forensics.appdata.wire import split128
from forensics.readers.sniff import format_compression
from forensics.resources import read_sql
from forensics.store import CaptureWriter, register_capture_table

for _table in (*TABLES, "appdata_counts"):
    register_capture_table(_table)



@dataclass
class Parsed:
    """The part of the pass that needs no database, done: the candidates' columns, the rows the compiled fast
    path read ({table: [(rows of cols, columns)]}) and the rest parsed; `out` None when the file could not
    be read back (the capture then has no application metadata)."""

    cols: dict[str, np.ndarray]
    fast: dict[str, list[tuple[np.ndarray, dict[str, pa.Array]]]]
    out: Extracted | None


def parse_appdata(path: str, fmt: str, chosen: dict[str, np.ndarray], frames: KeptFrames | None = None) -> Parsed:
    """Read and parse the chosen candidates' payloads (no database: the import runs it on a thread of its own
    once the last batch is decoded, while the last batches are still being written): from `frames`, where the
    selector kept them (at KEPT_AT), else from the file."""
    cols = {k: np.ma.getdata(v) if k != "ip_len" else v for k, v in chosen.items()}
    kept_at = cols.pop(KEPT_AT, None)
    fast: dict[str, list[tuple[np.ndarray, dict[str, pa.Array]]]] = {t: [] for t in TABLES}
    try:
        candidates = _candidates(cols, path, fmt, fast,
                                 kept=(frames, kept_at) if frames is not None and kept_at is not None else None)
    except (OSError, ValueError, IndexError):
        return Parsed(cols, fast, None)
    return Parsed(cols, fast, extract(candidates))


# The tables whose rows hold no 5-tuple (the labels find each packet's by its frame: ingest/app_labels.py)
FRAME_ONLY = ("dhcp", "dhcp6", "ntp")


def extract_appdata(writer: CaptureWriter, path: str, fmt: str, chosen: dict[str, np.ndarray] | None = None,
                    parsed: Parsed | None = None, frames: KeptFrames | None = None,
                    ) -> tuple[dict[str, dict[str, int]], pa.Table | None]:
    """Read, parse and store the capture's application metadata: ({table: {rows, malformed, truncated}}, the
    frame, ip_proto, address halves and ports of the packets of the FRAME_ONLY tables' rows, or None when no row
    was stored). `chosen`: the candidates' columns as a CandidateSelector fed the capture's batches gives them;
    without it they are chosen in SQL over the stored packet rows (queries/derive/appdata_candidates.sql).
    `parsed`: parse_appdata() of them, done already; `frames`: where the selector kept their frames."""
    writer.case.import_tail_memory()  # the packets are in: DuckDB holds less beside this pass's arrays
    try:
        return _extract_appdata(writer, path, fmt, chosen, parsed, frames)
    finally:  # what follows (flows derived in SQL, for one) may need the streaming limit
        writer.case.import_tail_memory(lower=False)


def _extract_appdata(writer: CaptureWriter, path: str, fmt: str, chosen: dict[str, np.ndarray] | None,
                     parsed: Parsed | None, frames: KeptFrames | None,
                     ) -> tuple[dict[str, dict[str, int]], pa.Table | None]:
    if parsed is None:
        if chosen is None:  # SQL over every packet of the capture: the streaming limit for it
            with writer.case.import_stream_memory():
                chosen = writer.bulk.execute(read_sql("derive/appdata_candidates.sql"),
                                             {"cid": writer.capture_id, "first": FIRST_SEGMENTS}).fetchnumpy()
        parsed = parse_appdata(path, fmt, chosen, frames)
    cols, fast, out = parsed.cols, parsed.fast, parsed.out
    if out is None:
        return {}, None
    more = _smtp_elsewhere(writer, path, fmt, cols, out)
    if more is not None:  # the rows of cols change: the fast rows' positions follow their frames
        frames = {t: [cols["frame"][at] for at, _ in parts] for t, parts in fast.items()}
        cols = {k: np.ma.concatenate([cols[k], more[k]]) if k == "ip_len" else np.concatenate([cols[k], more[k]])
                for k in cols}
        order = np.argsort(cols["frame"], kind="stable")
        cols = {k: v[order] for k, v in cols.items()}
        fast = {t: [(np.searchsorted(cols["frame"], f), columns) for f, (_, columns) in zip(frames[t], parts,
                                                                                              strict=True)]
                for t, parts in fast.items()}
    summary = {}
    frame_only = []  # the rows (of cols) of the FRAME_ONLY tables' messages
    for table in TABLES:
        found = out.tables[table]
        parts = fast[table]
        if found:
            at = np.searchsorted(cols["frame"], np.array([r["frame"] for r in found], np.int64))
            parts = [*parts, (at, _parsed(table, found))]
        rows = sum(len(at) for at, _ in parts)
        if rows:
            _insert(writer, table, parts, cols)
            if table in FRAME_ONLY:
                frame_only.extend(at for at, _ in parts)
        summary[table] = {"rows": rows, "malformed": out.malformed[table], "truncated": out.truncated[table]}
    # one statement for the capture's rows (one per table cost 2.7 ms of CPU each: 19 ms a file, a small
    # capture's largest statement)
    writer.con.execute("INSERT OR REPLACE INTO appdata_counts SELECT $c, unnest($t), $n, unnest($r), unnest($m), "
                       "unnest($x)",
                       {"c": writer.capture_id, "t": list(summary), "n": len(cols["frame"]),
                        "r": [s["rows"] for s in summary.values()], "m": [s["malformed"] for s in summary.values()],
                        "x": [s["truncated"] for s in summary.values()]})
    return summary, _frame_tuples(cols, frame_only)


def _frame_tuples(cols: dict[str, np.ndarray], parts: list[np.ndarray]) -> pa.Table | None:
    """frame, ip_proto, src_hi, src_lo, dst_hi, dst_lo, src_port, dst_port of the rows `parts` of cols (each
    packet once): what the labels join the FRAME_ONLY tables' messages to, in place of a scan of the stored
    packets (all of them, for a few frames: 50 ms of the 2M-packet bench capture's import)."""
    if not parts:
        return None
    at = np.unique(np.concatenate(parts))
    arrays = {"frame": pa.array(cols["frame"][at], _U32), "ip_proto": pa.array(cols["ip_proto"][at], pa.uint8())}
    for name in ("src_hi", "src_lo", "dst_hi", "dst_lo"):
        arrays[name] = pa.array(cols[name][at], _U64)
    for name in ("src_port", "dst_port"):
        arrays[name] = pa.array(cols[name][at], _U16)
    return pa.table(arrays)


def reads_stored_packets(parsed: Parsed) -> bool:
    """Whether storing `parsed` reads the capture's stored packets (SMTP found on a port that is not SMTP's: the
    rest of those sessions, _smtp_elsewhere), which must all be in first."""
    return parsed.out is not None and bool(_smtp_keys(parsed.out))


def _smtp_keys(out: Extracted) -> set[tuple]:
    """The directions found speaking SMTP on ports that are not SMTP's."""
    return {k for k in out.smtp_directions if not ({k[4], k[5]} & set(smtp.PORTS))}


def _smtp_elsewhere(writer: CaptureWriter, path: str, fmt: str, cols: dict[str, np.ndarray],
                    out: Extracted) -> dict[str, np.ndarray] | None:
    """SMTP found on a port that is not SMTP's was read in the first segments the choice keeps: read the rest
    of those sessions (both directions; queries/derive/appdata_segments.sql) into `out`; their columns, or
    None when there were none."""
    keys = _smtp_keys(out)
    keys |= {(k[2], k[3], k[0], k[1], k[5], k[4]) for k in keys}
    if not keys:
        return None
    key_of = list(zip(*(cols[k].tolist() for k in _KEY), strict=True))
    last: dict[tuple, int] = {}
    for key, frame in zip(key_of, cols["frame"].tolist(), strict=True):
        if key in keys:
            last[key] = frame
    wanted = pa.table({**{name: pa.array([k[i] for k in keys], _U64 if i < 4 else _U16)
                          for i, name in enumerate(_KEY)}, "after": pa.array([last.get(k, 0) for k in keys], _U32)})
    writer.bulk.register("_wanted", wanted)
    try:
        more = writer.bulk.execute(read_sql("derive/appdata_segments.sql"), {"cid": writer.capture_id}).fetchnumpy()
    finally:
        writer.bulk.unregister("_wanted")
    more = {k: np.ma.getdata(v) if k != "ip_len" else np.ma.masked_array(v) for k, v in more.items()}
    more = {k: v.astype(cols[k].dtype) if k != "ip_len" else v for k, v in more.items()}
    if len(more["frame"]) == 0:
        return None
    extract(_candidates(more, path, fmt, {t: [] for t in TABLES}, every_segment=True), out)
    return more


def _candidates(cols: dict[str, np.ndarray], path: str, fmt: str,
                fast: dict[str, list[tuple[np.ndarray, dict[str, pa.Array]]]],
                every_segment: bool = False, kept: tuple[KeptFrames, np.ndarray] | None = None) -> list[Candidate]:
    """The Candidates worth parsing in Python. Regular DNS and NTP over UDP are read by the compiled fast
    path (forensics.appdata.fastpath) into `fast` ({table: [(rows of cols, columns)]}) and are not among them.
    TCP payloads that do not start like a TLS hello record, an HTTP request or status line or an SMTP command
    or reply (nor are TCP 53) are dropped with their 5-tuple direction's other segments, unless one of those
    does start like one (it may need them joined): the parsers would read nothing in them. `kept`: the frames
    kept while the capture was decoded and where each candidate's is in them; else the file is read again."""
    n = len(cols["frame"])
    if n == 0:
        return []
    proto = cols["ip_proto"]
    if kept is None and format_compression(fmt) is not None:
        refs = zip(cols["file_offset"].tolist(), cols["caplen"].tolist(), strict=True)
        payloads = [transport_payload(lt, data, wl, pr, il) for data, lt, wl, pr, il in zip(
            read_frames(path, fmt, refs), cols["linktype"].tolist(), cols["wirelen"].tolist(), proto.tolist(),
            cols["ip_len"].tolist(), strict=True)]
        return _made(cols, np.ones(n, bool), payloads)
    # the mapped file (or kept frames) read slice by slice, each let go after (flat memory)
    parts = slices(kept[1] if kept is not None else cols["file_offset"])
    starts, lo, hi = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    spans, keep = np.empty(n, np.bool_), np.empty(n, np.bool_)
    caplen = cols["caplen"].astype(np.int64)
    with frame_source(path, kept[0] if kept is not None else None) as m:
        buf = np.frombuffer(m, np.uint8)
        try:
            for i, j in parts:
                starts[i:j] = kept[1][i:j] if kept is not None else frame_starts(buf, fmt, cols["file_offset"][i:j])
                lo[i:j], hi[i:j], spans[i:j] = payload_spans(buf, starts[i:j], caplen[i:j], cols["linktype"][i:j],
                                                             proto[i:j])
                k = (proto[i:j] == 17) | ~spans[i:j] | (cols["src_port"][i:j] == 53) \
                    | (cols["dst_port"][i:j] == 53) | every_segment
                tcp = np.flatnonzero(~k)
                k[tcp] = fastpath.starts_like(buf, lo[i:j][tcp], hi[i:j][tcp], _STARTS)
                # the slice's regular DNS/NTP read now, its pages still mapped (a second pass over the slices
                # mapped them again: 0.05 s of a 2M-packet capture's read-back); _keep_directions below reads and
                # sets the TCP rows only, and keeps every UDP row
                udp = k & spans[i:j] & (proto[i:j] == 17)
                if udp.any():
                    k &= ~_fast_udp({name: v[i:j] for name, v in cols.items()}, buf, lo[i:j], hi[i:j], udp, fast, i)
                keep[i:j] = k
                _let_go(m, starts, caplen, i, j)
            _keep_directions(cols, keep)
        finally:
            del buf  # the mmap closes only once no array looks into it
        payloads: list = [None] * n
        for i, j in parts:
            at = np.flatnonzero(keep[i:j] & spans[i:j]) + i
            for r, a, b in zip(at.tolist(), lo[at].tolist(), hi[at].tolist(), strict=True):
                payloads[r] = m[a:b]
            at = np.flatnonzero(keep[i:j] & ~spans[i:j]) + i
            for r, st, cap, lt, wl, pr, il in zip(at.tolist(), *(c[at].tolist() for c in (
                    starts, caplen, cols["linktype"], cols["wirelen"], proto, cols["ip_len"])), strict=True):
                payloads[r] = transport_payload(lt, m[st:st + cap], wl, pr, il)
            _let_go(m, starts, caplen, i, j)
    return _made(cols, keep, payloads)


def _let_go(m: mmap.mmap, starts: np.ndarray, caplen: np.ndarray, i: int, j: int) -> None:
    """Drop the mapped pages of rows i..j-1's frames from the process (records.let_go)."""
    let_go(m, int(starts[i:j].min()) - 28, int((starts[i:j] + caplen[i:j]).max()))


_DNS_PORTS = np.array(sorted(DNS_PORTS), np.int64)
_STARTS = http.STARTS + smtp.STARTS
_SERVICES = pa.array(["dns", "mdns", "llmnr", "udp"])


def _fast_udp(cols: dict[str, np.ndarray], buf: np.ndarray, lo: np.ndarray, hi: np.ndarray, udp: np.ndarray,
              fast: dict[str, list[tuple[np.ndarray, dict[str, pa.Array]]]], base: int = 0) -> np.ndarray:
    """Read the regular DNS/NTP payloads among the `udp` rows (dispatched as extract._udp does) with the
    compiled fast path; the mask of rows it settled (a row, or nothing to read). `cols` may be a slice of the
    candidates starting at row `base`: the rows put in `fast` are counted from the first candidate."""
    sp, dp = cols["src_port"], cols["dst_port"]
    on_dns = np.isin(sp, _DNS_PORTS) | np.isin(dp, _DNS_PORTS)
    on_dhcp = np.isin(sp, [*DHCP_PORTS, *dhcp6.PORTS]) | np.isin(dp, [*DHCP_PORTS, *dhcp6.PORTS])
    on_ntp = (sp == NTP_PORT) | (dp == NTP_PORT)
    done = np.zeros(len(udp), bool)
    on_quic = ~on_dns & ~on_dhcp & ~on_ntp & ((sp == quic.PORT) | (dp == quic.PORT))
    at = np.flatnonzero(udp & on_quic)  # QUIC: only long-header Initials of a version read go on to Python
    head = buf[np.minimum(lo[at, None] + np.arange(5), len(buf) - 1)].astype(np.uint32)
    version = head[:, 1] << 24 | head[:, 2] << 16 | head[:, 3] << 8 | head[:, 4]
    done[at[(hi[at] - lo[at] < 64) | (head[:, 0] & 0xF0 != 0xC0) | ~np.isin(version, list(quic.SALTS))]] = True
    dns_at = np.flatnonzero(udp & ~on_quic & (on_dns | ~(on_dhcp | on_ntp)))
    if len(dns_at):
        status, columns = fastpath.dns_rows(buf, lo[dns_at], hi[dns_at], ~on_dns[dns_at])
        at = dns_at[status == fastpath.OK]
        sp_at, dp_at = sp[at], dp[at]
        service = np.where((sp_at == 5353) | ((dp_at == 5353) & (sp_at != 53) & (sp_at != 5355)), 1,
                           np.where((sp_at == 5355) | ((dp_at == 5355) & (sp_at != 53)), 2, 0))
        columns = {"service": _SERVICES.take(pa.array(service)),
                   "transport": _SERVICES.take(pa.array(np.full(len(at), 3))), **columns}
        fast["dns"].append((at + base, columns))
        done[dns_at[status != fastpath.SLOW]] = True
    ntp_at = np.flatnonzero(udp & on_ntp & ~on_dns & ~on_dhcp)
    if len(ntp_at):
        status, columns = fastpath.ntp_rows(buf, lo[ntp_at], hi[ntp_at])
        fast["ntp"].append((ntp_at[status == fastpath.OK] + base, columns))
        done[ntp_at[status != fastpath.SLOW]] = True
    return done


_KEY = ("src_hi", "src_lo", "dst_hi", "dst_lo", "src_port", "dst_port")
_MULTS = tuple(np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB,
                                      0xD6E8FEB86659FD93, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB))


def _keep_directions(cols: dict[str, np.ndarray], keep: np.ndarray) -> None:
    """Keep every TCP segment of a 5-tuple direction that has one kept segment (a cut hello joins the next)."""
    tcp = cols["ip_proto"] == 6
    if keep[tcp].all():
        return
    mixed = np.zeros(int(tcp.sum()), np.uint64)  # a hash of the direction: a collision only keeps more
    with np.errstate(over="ignore"):
        for name, mult in zip(_KEY, _MULTS, strict=True):
            mixed = (mixed ^ cols[name][tcp].astype(np.uint64)) * mult
    _, group = np.unique(mixed, return_inverse=True)
    hit = np.zeros(group.max() + 1, bool)
    hit[group[keep[tcp]]] = True
    keep[tcp] = hit[group]


def _made(cols: dict[str, np.ndarray], keep: np.ndarray, payloads: list) -> list[Candidate]:
    at = np.flatnonzero(keep)
    frames, pr = cols["frame"][at].tolist(), cols["ip_proto"][at].tolist()
    sp, dp = cols["src_port"][at].tolist(), cols["dst_port"][at].tolist()
    keys = list(zip(*(cols[k][at].tolist() for k in _KEY), strict=True))
    cut = (cols["caplen"][at] < cols["wirelen"][at]).tolist()
    kept = [payloads[i] for i in at.tolist()]
    return [Candidate(*row) for row in zip(frames, pr, sp, dp, kept, keys, cut, strict=True)]


_U16, _U32, _U64, _U8, _I8 = pa.uint16(), pa.uint32(), pa.uint64(), pa.uint8(), pa.int8()
_STR, _BOOL = pa.string(), pa.bool_()
_COLUMNS = {
    "dns": {"service": _STR, "transport": _STR, "txid": _U16, "is_response": _BOOL, "opcode": _U8, "rcode": _U8,
            "flags": _U16, "qdcount": _U16, "ancount": _U16, "nscount": _U16, "arcount": _U16, "qname": _STR,
            "qtype": _U16, "qclass": _U16},
    "dhcp": {"op": _U8, "xid": _U32, "message_type": _U8, "client_mac": _STR, "client_id": _STR,
             "client_ip": None, "assigned_ip": None, "requested_ip": None, "server_id": None,
             "lease_seconds": _U32, "hostname": _STR, "vendor_class": _STR},
    "dhcp6": {"message_type": _U8, "xid": _U32, "relay_hops": _U8, "client_duid": _STR, "server_duid": _STR,
              "client_mac": _STR, "fqdn": _STR, "vendor_class": _STR},
    "ntp": {"leap": _U8, "version": _U8, "mode": _U8, "stratum": _U8, "poll": _I8, "reference_id": _U32,
            "reference_text": _STR},
    "tls": {"handshake": _STR, "record_version": _U16, "version": _U16, "supported_versions": pa.list_(_U16),
            "selected_version": _U16, "sni": _STR, "alpn": pa.list_(_STR), "cipher_suites": pa.list_(_U16),
            "cipher": _U16, "extensions": pa.list_(_U16), "groups": pa.list_(_U16), "ja3": _STR, "ja3_md5": _STR,
            "ja4": _STR},
    "http": {"is_response": _BOOL, "head_complete": _BOOL,
             "method": _STR, "uri": _STR, "version": _STR, "status": _U16, "reason": _STR,
             "host": _STR, "user_agent": _STR, "server": _STR, "content_type": _STR, "content_length": _U64},
    "smtp": {"is_response": _BOOL, "command": _STR, "parameter": _STR, "helo": _STR, "mail_from": _STR,
             "rcpt_to": _STR, "reply_code": _U16, "reply_text": _STR},
}
_PORTS = {"dns", "tls", "http", "smtp"}


def _answers(found: list[dict]) -> pa.Array:
    """dns.answers as one flat struct array and list offsets (a list of dicts per row is 5x slower)."""
    offsets, flat = [0], []
    for r in found:
        flat += r["answers"]
        offsets.append(len(flat))
    halves = [split128(a["address"]) for a in flat]
    fields = [pa.array([a["name"] for a in flat], _STR), pa.array([a["type"] for a in flat], _U16),
              pa.array([a["ttl"] for a in flat], _U32), pa.array([h for h, _ in halves], _U64),
              pa.array([lo for _, lo in halves], _U64), pa.array([a["data"] for a in flat], _STR)]
    values = pa.StructArray.from_arrays(fields, fields=list(fastpath.ANSWER))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values)


def _parsed(table: str, found: list[dict]) -> dict[str, pa.Array]:
    """The Python parsers' rows of `table` as Arrow columns (addresses as _hi/_lo halves)."""
    arrays: dict[str, pa.Array] = {}
    names = list(_COLUMNS[table])
    values = zip(*map(itemgetter(*names), found), strict=True)  # one column at a time, one pass over the dicts
    for name, column in zip(names, values, strict=True):
        arrow_type = _COLUMNS[table][name]
        if arrow_type is None:  # an address: two halves
            halves = [split128(v) for v in column]
            arrays[name + "_hi"] = pa.array([h for h, _ in halves], _U64)
            arrays[name + "_lo"] = pa.array([lo for _, lo in halves], _U64)
        else:
            arrays[name] = pa.array(column, arrow_type)
    if table == "dns":
        arrays["answers"] = _answers(found)
    elif table == "dhcp6":
        arrays["addresses"] = _address_lists([r["addresses"] for r in found])
        arrays["prefixes"] = _prefix_lists([r["prefixes"] for r in found])
    return arrays


_HALVES = pa.struct([("hi", _U64), ("lo", _U64)])
_PREFIX = pa.struct([("hi", _U64), ("lo", _U64), ("length", _U8)])


def _address_lists(rows: list[list[int]]) -> pa.Array:
    return pa.array([[dict(zip(("hi", "lo"), split128(a), strict=True)) for a in r] for r in rows],
                    pa.list_(_HALVES))


def _prefix_lists(rows: list[list[dict]]) -> pa.Array:
    return pa.array([[dict(zip(("hi", "lo"), split128(p["address"]), strict=True), length=p["length"]) for p in r]
                     for r in rows], pa.list_(_PREFIX))


def _addr_sql(name: str) -> str:
    return f"({name}_hi::UHUGEINT << 64) | {name}_lo::UHUGEINT"  # NULL when the halves are


def _insert(writer: CaptureWriter, table: str, parts: list[tuple[np.ndarray, dict[str, pa.Array]]],
            cols: dict[str, np.ndarray]) -> None:
    """Store `table`'s rows: parts of (rows of cols, parser columns), in frame order (stable: the messages of
    one TCP segment keep theirs)."""
    parsed = pa.concat_tables([pa.table(columns) for _, columns in parts])
    at = np.concatenate([at for at, _ in parts])
    order = np.argsort(at, kind="stable")
    at = at[order]
    arrays: dict[str, pa.Array] = {"frame": pa.array(cols["frame"][at], _U32), "ts_us": pa.array(cols["ts_us"][at])}
    for name in ("src_hi", "src_lo", "dst_hi", "dst_lo"):
        arrays[name] = pa.array(cols[name][at], _U64)
    if table in _PORTS:
        arrays["src_port"] = pa.array(cols["src_port"][at], _U16)
        arrays["dst_port"] = pa.array(cols["dst_port"][at], _U16)
    select = ["$cid", "frame", "make_timestamp(ts_us)", _addr_sql("src"), _addr_sql("dst")]
    if table in _PORTS:
        select += ["src_port", "dst_port"]
    parsed = parsed.take(pa.array(order))
    for name, arrow_type in _COLUMNS[table].items():
        if arrow_type is None:
            arrays[name + "_hi"] = parsed.column(name + "_hi")
            arrays[name + "_lo"] = parsed.column(name + "_lo")
            select.append(_addr_sql(name))
        else:
            arrays[name] = parsed.column(name)
            select.append(name)
    if table == "dhcp6":
        arrays["addresses"] = parsed.column("addresses")
        arrays["prefixes"] = parsed.column("prefixes")
        select += ["list_transform(addresses, lambda a: (a.hi::UHUGEINT << 64) | a.lo::UHUGEINT)",
                   "list_transform(prefixes, lambda p: {'address': (p.hi::UHUGEINT << 64) | p.lo::UHUGEINT, "
                   "'length': p.length})"]
    if table == "dns":
        arrays["answers"] = parsed.column("answers")
        select.append("list_transform(answers, lambda a: {'name': a.name, 'type': a.type, 'ttl': a.ttl, "
                      "'address': (a.address_hi::UHUGEINT << 64) | a.address_lo::UHUGEINT, 'data': a.data})")
    writer.con.register("_appdata", pa.table(arrays))
    try:
        writer.con.execute(f"INSERT INTO {table} SELECT {', '.join(select)} FROM _appdata",
                           {"cid": writer.capture_id}).fetchall()
    finally:
        writer.con.unregister("_appdata")
