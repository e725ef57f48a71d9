"""Application labels of one capture's flows (table flow_app), inside its import transaction, after its flows
and its application metadata (ingest/appdata_pass.py) are stored.

Evidence, per packet (queries/derive/flow_app.sql then labels the packet's connection, both directions):
- a message in the appdata tables: dns (its service: dns, mdns, llmnr), dhcp, ntp, tls, http;
- the first payload bytes of each 5-tuple direction (queries/derive/app_first_payload.sql), read back from the
  file as the appdata pass reads its candidates: ssh (`SSH-` banner), smb (NetBIOS session header, then
  `\\xffSMB`, `\\xfeSMB` or `\\xfdSMB`), rdp (TPKT version 3, X.224 connection request or confirm), smtp (a
  client's `EHLO ` or `HELO `), quic (UDP, long header with the fixed bit and version 1, 2 or a draft, in a
  datagram of 1200 bytes or more as RFC 9000 pads every Initial), tls (a TLS record header: a connection
  whose hellos came before the capture began).
No port is guessed here: the configured [applications] signatures are matched where the labels are read.

Packets and flows of a large file go in through the bulk connection (committed batch by batch) and the
appdata rows through the file's transaction, which cannot see each other's: the evidence is read on the
transaction, the join to flows runs on the bulk connection, and the labels are written in the transaction
(they vanish with it on a failed import).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from forensics.appdata.kept_frames import KeptFrames, frame_source
from forensics.appdata.records import frame_starts, let_go, payload_spans, read_frames, slices, transport_payload
from forensics.appdata.select import KEPT_AT
from forensics.readers.sniff import format_compression
from forensics.resources import read_sql
from forensics.store import CaptureWriter, register_capture_table

HEAD = 16  # payload bytes the signatures below look at
register_capture_table("flow_app")

_U64, _U16 = pa.uint64(), pa.uint16()
_EVIDENCE = pa.schema([("frame", pa.uint32()), ("app", pa.string()), ("evidence", pa.string()),
                       ("ip_proto", pa.uint8()), ("src_hi", _U64), ("src_lo", _U64), ("dst_hi", _U64),
                       ("dst_lo", _U64), ("src_port", _U16), ("dst_port", _U16)])
_QUIC_VERSIONS = (0x00000001, 0x6B3343CF)  # QUIC v1 (RFC 9000), v2 (RFC 9369); drafts are 0xff0000xx


def label_flows(writer: CaptureWriter, path: str, fmt: str,
                first_payload: dict[str, np.ndarray] | None = None,
                appdata: dict[str, dict[str, int]] | None = None,
                payload_rows: pa.Table | None = None, frame_tuples: pa.Table | None = None,
                frames: KeptFrames | None = None) -> dict[str, int]:
    """Write flow_app rows for the capture's pcap-derived flows; {app: labelled flows}. `first_payload`: the
    packets whose first payload bytes are checked, as CandidateSelector.first_payload() gives them while the
    capture is decoded (emptied once read: its arrays are let go before the join over every flow); without it they
    are found in SQL over the stored packets (app_first_payload.sql). `payload_rows`: payload_evidence() of them,
    done already (the import reads them back on another thread). `appdata`: what the appdata pass stored
    for the capture ({table: {"rows": n, ...}}); when it stored no row, the tables' evidence is not queried.
    `frame_tuples`: the 5-tuples of the packets of the appdata rows that hold none (extract_appdata gives them);
    without it they are found among the stored packets. `frames`: where the selector kept the packets' frames."""
    cid = writer.capture_id
    writer.case.import_tail_memory()  # (also done by the appdata pass) DuckDB holds less beside these arrays
    writer.flows_visible()  # a lake: the metered flows staged as parts, joined below
    tables_hold = appdata is None or any(t.get("rows") for t in appdata.values())  # else: no evidence there
    if payload_rows is None:
        if first_payload is None:
            with writer.case.import_stream_memory():  # SQL over every packet: the streaming limit for it
                first_payload = writer.bulk.execute(read_sql("derive/app_first_payload.sql"),
                                                    {"cid": cid}).fetchnumpy()
        payload_rows = payload_evidence(first_payload, path, fmt, frames)
    if not tables_hold and payload_rows.num_rows == 0:
        return {}
    if writer.bulk is writer.con:  # the join on the file's own connection: one statement, no rows through Python
        if not _insert_labels(writer, cid, payload_rows, tables_hold, frame_tuples):
            return {}
    else:  # the flows on the bulk connection (a large file of a single-file case), the tables' rows on the file's
        evidence = writer.con.sql(read_sql("derive/app_evidence.sql"), params={"cid": cid}).to_arrow_table()
        evidence = pa.concat_tables([evidence.cast(_EVIDENCE), payload_rows])
        if evidence.num_rows == 0:
            return {}
        writer.bulk.register("_app_evidence", evidence)
        try:
            # the join over every flow: the tail limit is too low for it
            with _frames(writer.bulk, frame_tuples) as frames, writer.case.import_stream_memory():
                labels = writer.bulk.sql(f"WITH _app_frames AS ({frames})\n"
                                         f"SELECT * FROM (\n{read_sql('derive/flow_app.sql')}\n)",
                                         params={"cid": cid}).to_arrow_table()
        finally:
            writer.bulk.unregister("_app_evidence")
        if labels.num_rows == 0:
            return {}
        writer.con.register("_flow_app_new", labels)
        try:
            writer.con.execute("INSERT INTO flow_app SELECT capture_id, flow_id, app, evidence, frame "
                               "FROM _flow_app_new")
        finally:
            writer.con.unregister("_flow_app_new")
    counts = writer.con.execute("SELECT app, count(*) FROM flow_app WHERE capture_id = $c GROUP BY app ORDER BY app",
                                {"c": cid}).fetchall()
    return dict(counts)


def payload_evidence(first_payload: dict[str, np.ndarray], path: str, fmt: str,
                     frames: KeptFrames | None = None) -> pa.Table:
    """The payload evidence rows (_EVIDENCE) of the packets whose first payload bytes match a signature, read
    from `frames` where the selector kept them (at KEPT_AT), else from the file (no database). `first_payload`
    is emptied once read (its arrays go before the label join)."""
    first = {k: np.ma.getdata(v) if k != "ip_len" else v for k, v in first_payload.items()}  # ip_len: NULL kept
    kept_at = first.pop(KEPT_AT, None)
    try:
        hit = first_payload_labels(first, path, fmt,
                                   kept=(frames, kept_at) if frames is not None and kept_at is not None else None)
    except (OSError, ValueError, IndexError):  # the file cannot be read back: the tables' evidence only
        hit = (np.zeros(0, np.int64), [])
    at, apps = hit
    payload = {"frame": pa.array(first["frame"][at], pa.uint32()), "app": pa.array(apps, pa.string()),
               "evidence": pa.array(["payload"] * len(apps), pa.string()),
               "ip_proto": pa.array(first["ip_proto"][at], pa.uint8())}
    for name in ("src_hi", "src_lo", "dst_hi", "dst_lo"):
        payload[name] = pa.array(first[name][at], pa.uint64())
    for name in ("src_port", "dst_port"):
        payload[name] = pa.array(first[name][at], pa.uint16())
    del first, hit, at
    first_payload.clear()
    return pa.table(payload).cast(_EVIDENCE)


def _insert_labels(writer: CaptureWriter, cid: int, payload: pa.Table, tables_hold: bool,
                   frame_tuples: pa.Table | None = None) -> int:
    """flow_app rows of the capture in one statement: the tables' evidence (app_evidence.sql, when the appdata
    pass stored rows) and the payload evidence as `_app_evidence`, joined to the flows (flow_app.sql) and
    inserted. A small capture's labels took four statements (evidence out to Arrow, the join out to Arrow, the
    insert, and the binds): 30 ms of CPU, now 14. Returns the rows inserted."""
    evidence = "SELECT * FROM _app_payload"
    if tables_hold:
        evidence = f"SELECT * FROM (\n{read_sql('derive/app_evidence.sql')}\n) UNION ALL BY NAME {evidence}"
    writer.con.register("_app_payload", payload)
    try:
        # the join over every flow: the tail limit is too low for it
        with _frames(writer.con, frame_tuples) as frames, writer.case.import_stream_memory():
            return int(writer.con.execute(
                f"INSERT INTO flow_app WITH _app_evidence AS ({evidence}),\n_app_frames AS ({frames})\n"
                f"SELECT capture_id, flow_id, app, evidence, frame FROM (\n{read_sql('derive/flow_app.sql')}\n)",
                {"cid": cid}).fetchall()[0][0])
    finally:
        writer.con.unregister("_app_payload")


@contextlib.contextmanager
def _frames(con: object, frame_tuples: pa.Table | None) -> Iterator[str]:
    """The SELECT of `_app_frames` (flow_app.sql), the packets' 5-tuples by frame: the appdata pass's rows
    (registered on `con` for the length of the `with`) when it gave them, else the capture's stored packets."""
    if frame_tuples is None:
        yield "SELECT frame, ip_proto, src_ip, dst_ip, src_port, dst_port FROM packets WHERE capture_id = $cid"
        return
    con.register("_app_frame_rows", frame_tuples)
    try:
        yield ("SELECT frame, ip_proto, (src_hi::UHUGEINT << 64) | src_lo AS src_ip, "
               "(dst_hi::UHUGEINT << 64) | dst_lo AS dst_ip, src_port, dst_port FROM _app_frame_rows")
    finally:
        con.unregister("_app_frame_rows")


def first_payload_labels(cols: dict[str, np.ndarray], path: str, fmt: str,
                         kept: tuple[KeptFrames, np.ndarray] | None = None) -> tuple[np.ndarray, list[str]]:
    """(row positions, labels) of the packets whose first payload bytes match a signature. `kept`: the frames
    kept while the capture was decoded and where each packet's is in them; else the file is read again."""
    n = len(cols["frame"])
    if n == 0:
        return np.zeros(0, np.int64), []
    ip_len = cols["ip_len"].tolist()  # None where NULL
    cols = {k: np.ma.getdata(v) for k, v in cols.items()}
    proto = cols["ip_proto"].astype(np.int64)
    head = np.full((n, HEAD), -1, np.int16)
    size = np.zeros(n, np.int64)  # payload bytes captured
    slow = np.ones(n, bool)
    if kept is not None or format_compression(fmt) is None:
        with frame_source(path, kept[0] if kept is not None else None) as m:
            buf = np.frombuffer(m, np.uint8)
            try:
                last = len(buf) - 1
                # each slice of the mapped file (or kept frames) let go after: flat memory
                for i, j in slices(kept[1] if kept is not None else cols["file_offset"]):
                    starts = kept[1][i:j] if kept is not None else frame_starts(buf, fmt, cols["file_offset"][i:j])
                    lo, hi, fast = payload_spans(buf, starts, cols["caplen"][i:j], cols["linktype"][i:j], proto[i:j])
                    for k in range(HEAD):
                        head[i:j, k] = np.where(fast & (lo + k < hi), buf[np.minimum(lo + k, last)], -1)
                    size[i:j] = np.where(fast, hi - lo, 0)
                    slow[i:j] = ~fast
                    let_go(m, int(starts.min()) - 28, int((starts + cols["caplen"][i:j].astype(np.int64)).max()))
            finally:
                del buf
    at = np.flatnonzero(slow)
    if len(at):
        refs = zip(cols["file_offset"][at].tolist(), cols["caplen"][at].tolist(), strict=True)
        for i, data in zip(at.tolist(), read_frames(path, fmt, refs), strict=True):
            payload = transport_payload(int(cols["linktype"][i]), data, int(cols["wirelen"][i]), int(proto[i]),
                                        ip_len[i])
            size[i] = len(payload)
            head[i, :min(HEAD, len(payload))] = np.frombuffer(payload[:HEAD], np.uint8)
    labels = classify(head, proto, size)
    hit = np.flatnonzero(labels != "")
    return hit, labels[hit].tolist()


def _starts(head: np.ndarray, text: bytes, at: int = 0) -> np.ndarray:
    ok = np.ones(len(head), bool)
    for k, b in enumerate(text):
        ok &= head[:, at + k] == b
    return ok


def classify(head: np.ndarray, proto: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The label of each payload head (rows of HEAD byte values, -1 past the payload; `size` the payload's
    captured length): '' for none."""
    tcp, udp = proto == 6, proto == 17
    out = np.full(len(head), "", dtype=object)
    nbss = head[:, 0] == 0  # NetBIOS session message (also the 4-byte header of SMB direct over TCP 445)
    smb = tcp & nbss & (_starts(head, b"\xffSMB", 4) | _starts(head, b"\xfeSMB", 4) | _starts(head, b"\xfdSMB", 4))
    x224 = (head[:, 5] & 0xF0 == 0xE0) | (head[:, 5] & 0xF0 == 0xD0)  # CR / CC TPDU
    tpkt_len = head[:, 2].astype(np.int64) * 256 + head[:, 3]
    rdp = tcp & _starts(head, b"\x03\x00") & (tpkt_len >= 11) & (head[:, 4] >= 6) & (head[:, 5] >= 0) & x224 \
        & (head[:, 4].astype(np.int64) + 5 <= tpkt_len)
    smtp = tcp & (_starts(head, b"EHLO ") | _starts(head, b"HELO ") | _starts(head, b"ehlo ")
                  | _starts(head, b"helo "))
    version = np.zeros(len(head), np.int64)
    for k in range(1, 5):
        version = version * 256 + np.maximum(head[:, k], 0)
    quic = udp & (head[:, 0] >= 0) & (head[:, 0] & 0xC0 == 0xC0) & (head[:, 5] >= 0) & (head[:, 5] <= 20) \
        & (np.isin(version, _QUIC_VERSIONS) | (version >> 8 == 0xFF0000)) & (size >= 1200)
    # a TLS record: content type change_cipher_spec, alert, handshake, application_data or heartbeat, version
    # 3.0-3.4, length at most 2^14 + 2048 (a connection seen mid-way, without its hellos)
    record_len = head[:, 3].astype(np.int64) * 256 + head[:, 4]
    tls = tcp & (head[:, 0] >= 0x14) & (head[:, 0] <= 0x18) & (head[:, 1] == 3) & (head[:, 2] >= 0) \
        & (head[:, 2] <= 4) & (head[:, 4] >= 0) & (record_len > 0) & (record_len <= 18432)
    for mask, name in ((tls, "tls"), (quic, "quic"), (rdp, "rdp"), (smb, "smb"), (smtp, "smtp"),
                       (tcp & _starts(head, b"SSH-"), "ssh")):
        out[mask] = name
    return out
