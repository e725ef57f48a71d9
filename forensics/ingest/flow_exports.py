"""Flow exports into the flows table: the collector state across packets and imports, and flow files.

`ExportCollector` is fed the UDP export datagrams of one capture in frame order. It keeps NetFlow v9
and IPFIX templates per (exporter, observation domain, version, template id) as a collector does,
holds data sets that arrive before their template and decodes them once it appears (later in the
same import, or in a later import: templates and still-pending data sets are kept in the case
database, tables in queries/schema/flow_exports.sql). Records decoded from a pending data set of an
earlier import keep that import's capture_id and frame number: they came from that file.

NetFlow v5 records and the data sets of fixed-length v9/IPFIX templates are gathered a chunk at a time and
decoded as numpy columns (forensics.readers.flow_columns); everything else, one dict per record. Both give the
same rows (tests/flows/test_vectorised_flows.py; VECTORISED = False takes the per-record path throughout).

`import_flow_file` imports flow FILES (bare export payloads, nfcapd, nfdump CSV, Zeek, Suricata).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from forensics.errors import MalformedError, TruncatedError
from forensics.readers import eve_columns, nfcapd, nfdump_csv_columns, zeek_columns
from forensics.readers.flow_columns import DataSetBatch, V5Batch, set_plan
from forensics.readers.line_runs import line_bounds
from forensics.readers.netflow import (
    SEQUENCE_UNITS,
    DataSet,
    ExportHeader,
    FieldSpec,
    SequenceTracker,
    Template,
    decode_data_set,
    export_header_ok,
    flow_record,
    parse_export,
    sampling_from_values,
    v5_header,
)
from forensics.readers.sflow import COUNTER_COLUMNS, parse_sflow, plausible_sflow
from forensics.readers.sniff import GzipBombError, compression_of, open_stream
from forensics.records import FlowColumns
from forensics.store import CaptureWriter, register_capture_table
from forensics.store.bulk_insert import insert_rows

CHUNK = 50_000
PENDING_SPILL = 10_000  # data sets held in memory before they are parked in flow_pending_sets
SOURCES = {5: "netflow_v5", 9: "netflow_v9", 10: "ipfix"}
# NetFlow v5 records, and v9/IPFIX data sets of fixed-length templates, decoded as numpy columns a chunk at a
# time (forensics.readers.flow_columns); False: one dict per record (forensics.readers.netflow), the reference
# the tests compare it with.
VECTORISED = True

for _table in ("flow_templates", "flow_pending_sets", "sflow_counters", "flow_sequence_gaps"):
    register_capture_table(_table)

TemplateKey = tuple[int, int, int, int]  # exporter, observation domain, version, template id


def looks_like_export(payload: bytes) -> bool:
    """True when a UDP payload looks like a NetFlow v5/v9, IPFIX or sFlow v5 datagram (header check only).

    Lenient about lengths (a datagram cut by the snap length still counts; its damage is counted as
    invalid when it is decoded), strict about version, count and the first set or sample header.
    """
    return export_header_ok(payload) or plausible_sflow(payload)


class ExportCollector:
    """Collector state for one import: feed datagrams in frame order, then finish()."""

    def __init__(self, writer: CaptureWriter, path: str, vectorised: bool | None = None) -> None:
        self.writer = writer
        self.vectorised = VECTORISED if vectorised is None else vectorised
        # Records of this capture not yet written: as dicts (self.records), v5 columns or v9/IPFIX data sets;
        # one kind at a time (the others are written first: records keep their order).
        self.v5 = V5Batch()
        self.sets = DataSetBatch()
        self.con = writer.con
        self.path = path
        self.capture_id = writer.capture_id
        self.templates: dict[TemplateKey, Template] = self._load_templates()
        self.touched: dict[TemplateKey, tuple[Template | None, int, int]] = {}
        self.pending: dict[TemplateKey, list[tuple[int, DataSet]]] = defaultdict(list)
        self.pending_in_memory = 0
        self.db_pending_keys: set[TemplateKey] = {
            tuple(int(x) for x in row) for row in self.con.execute(
                "SELECT DISTINCT exporter_ip, observation_domain, version, template_id FROM flow_pending_sets"
            ).fetchall()
        }
        self.samplers: dict[tuple[int, int], dict[int | None, int]] = defaultdict(dict)
        self.init_time_ms: dict[tuple[int, int], int] = {}
        self.records: list[dict] = []
        self.earlier: dict[int, list[dict]] = defaultdict(list)  # capture_id -> records from pending sets
        self.counters: list[dict] = []
        self.invalid: Counter = Counter()
        self.enterprise_values = 0
        self.flow_records = 0
        self.earlier_records = 0
        self.earlier_stored = 0
        self.sequences = SequenceTracker()
        self.gaps: list[tuple] = []  # flow_sequence_gaps rows, written by finish()

    # ---- state in the case database ----

    def _load_templates(self) -> dict[TemplateKey, Template]:
        rows = self.con.execute(
            """
            SELECT exporter_ip, observation_domain, version, template_id, is_options, scope_count, fields, withdrawn
            FROM flow_templates
            QUALIFY row_number() OVER (
                PARTITION BY exporter_ip, observation_domain, version, template_id ORDER BY capture_id DESC) = 1
            """
        ).fetchall()
        out = {}
        for exp, dom, ver, tid, is_opt, scope, fields, withdrawn in rows:
            if withdrawn or fields is None:
                continue
            specs = tuple(FieldSpec(*f) for f in json.loads(fields))
            out[(int(exp), int(dom), int(ver), int(tid))] = Template(int(tid), specs, int(scope), bool(is_opt))
        return out

    # ---- feeding ----

    def feed(self, frame: int, ts_us: int, src_ip: int, dst_ip: int, src_port: int, dst_port: int,
             payload: bytes) -> None:
        """Decode one export datagram (src_ip is the exporter; 0 when unknown); others are passed over."""
        if not looks_like_export(payload):
            return
        if self.vectorised and payload[:2] == b"\x00\x05":
            self._feed_v5(frame, src_ip, payload)
            return
        if payload[:4] == b"\x00\x00\x00\x05":
            self._feed_sflow(frame, ts_us, src_ip, payload)
            return
        parsed = parse_export(payload)
        self.invalid.update(parsed.invalid)
        h = parsed.header
        if h is None:
            return
        source = SOURCES[h.version]
        records: int | None = 0  # data records the datagram carried (None: some wait for their template)
        for kind, ev in parsed.events:
            if kind == "v5":
                self._emit(dict(ev), source, frame, src_ip, h.domain)
            elif kind == "data":
                n = self._data_set(frame, src_ip, ev, source)
                records = None if n is None or records is None else records + n
            elif kind == "template":
                self._learn((src_ip, h.domain, h.version, ev.template_id), ev, frame, h)
            elif kind == "withdraw":
                tid, _opts = ev
                self._withdraw((src_ip, h.domain, h.version, tid), frame, h)
            elif kind == "withdraw_all":
                for key, tpl in list(self.templates.items()):
                    if key[:3] == (src_ip, h.domain, h.version) and tpl.options == ev:
                        self._withdraw(key, frame, h)
        self._sequence(frame, src_ip, h, records)
        if self._pending() >= CHUNK:
            self._flush()

    def _sequence(self, frame: int, exporter: int, h: ExportHeader, records: int | None) -> None:
        gap = self.sequences.step((exporter, h.domain, h.version), h, records)
        if gap is not None:
            self.gaps.append((exporter, h.domain, h.version, frame, gap.expected, gap.got, gap.lost,
                              SEQUENCE_UNITS[h.version], _ts_us(gap.before_us), _ts_us(gap.after_us)))

    def _feed_v5(self, frame: int, exporter: int, payload: bytes) -> None:
        """A NetFlow v5 datagram: its whole records gathered for decoding as columns (V5Batch)."""
        h, whole = v5_header(payload)
        if h is None:
            self.invalid["truncated_header"] += 1
            return
        if whole < h.count:
            self.invalid["record_past_end"] += 1
        if self.records or self.sets.rows:
            self._switch("v5")
        self.v5.add(payload, h, whole, frame, exporter)
        self.flow_records += whole
        self._sequence(frame, exporter, h, 0)
        if self.v5.rows >= CHUNK:  # the only kind pending now
            self._flush()

    def _pending(self) -> int:
        return len(self.records) + self.v5.rows + self.sets.rows

    def _switch(self, kind: str, source: str = "") -> None:
        """Write this capture's pending records of another kind than `kind` ('dict', 'v5', 'sets' of `source`)."""
        if kind != "dict" and self.records:
            self.writer.append_flow_records(self.records)
            self.records = []
        if kind != "v5" and self.v5.rows:
            self.writer.append_flow_records(self.v5.columns())
        if self.sets.rows and (kind != "sets" or self.sets.source != source):
            cols = self.sets.columns()
            self.writer.append_flow_records(self.sets.records() if cols is None else cols)
            self.sets.clear()

    def _feed_sflow(self, frame: int, ts_us: int, src_ip: int, payload: bytes) -> None:
        d = parse_sflow(payload, ts_us)
        self.invalid.update(d.invalid)
        exporter = d.agent_ip if d.agent_ip is not None else src_ip
        for rec in d.flows:
            self._emit(rec, "sflow", frame, exporter, d.sub_agent_id)
        for row in d.counters:
            row.update(record_pos=frame, ts_us=ts_us, agent_ip=exporter, sub_agent_id=d.sub_agent_id)
            self.counters.append(row)
        if self._pending() >= CHUNK or len(self.counters) >= CHUNK:
            self._flush()

    def _emit(self, rec: dict, source: str, frame: int, exporter: int, domain: int,
              capture_id: int | None = None) -> None:
        rec["source"] = source
        rec["record_pos"] = frame
        rec["exporter_ip"] = exporter or None
        rec["observation_domain"] = domain
        if capture_id is None or capture_id == self.capture_id:
            if self.v5.rows or self.sets.rows:
                self._switch("dict")
            self.records.append(rec)
            self.flow_records += 1
        else:
            self.earlier[capture_id].append(rec)
            self.earlier_records += 1

    def _data_set(self, frame: int, exporter: int, ds: DataSet, source: str,
                  capture_id: int | None = None) -> int | None:
        """Decode (or hold, until its template comes) one data set; the records it held, None when held."""
        key = (exporter, ds.header.domain, ds.header.version, ds.template_id)
        tpl = self.templates.get(key)
        if tpl is None:
            self.pending[key].append((frame, ds))
            self.pending_in_memory += 1
            if self.pending_in_memory >= PENDING_SPILL:
                self._park_pending()
            return None
        if self.vectorised and not tpl.options and tpl.min_length and capture_id in (None, self.capture_id):
            plan = set_plan(tpl.fields)
            if plan is not None:
                scope = (exporter, ds.header.domain)
                samplers = self.samplers.get(scope)
                self._switch("sets", source)
                n = self.sets.add(tpl, plan, ds.body, ds.header, frame, exporter,
                                  samplers.get(None) if samplers else None, self.init_time_ms.get(scope), source)
                self.flow_records += n
                self.enterprise_values += tpl.enterprise_fields * n
                return n
        decoded = decode_data_set(tpl, ds.body)
        self.invalid.update(decoded.invalid)
        self.enterprise_values += decoded.enterprise_values
        scope = (exporter, ds.header.domain)
        if tpl.options:
            for v in decoded.records:
                rate = sampling_from_values(v)
                if rate:
                    self.samplers[scope][v.get(48, v.get(302))] = rate
                if 160 in v:
                    self.init_time_ms[scope] = v[160]
            return len(decoded.records)
        samplers = self.samplers.get(scope, {})
        for v in decoded.records:
            sampler = v.get(48, v.get(302))
            rate = samplers.get(sampler, samplers.get(None)) if samplers else None
            rec = flow_record(v, ds.header, rate, self.init_time_ms.get(scope))
            self._emit(rec, source, frame, exporter, ds.header.domain, capture_id)
        return len(decoded.records)

    def _learn(self, key: TemplateKey, tpl: Template, frame: int, h: ExportHeader) -> None:
        self.templates[key] = tpl
        self.touched[key] = (tpl, frame, h.export_secs)
        source = SOURCES[key[2]]
        held = self.pending.pop(key, [])
        self.pending_in_memory -= len(held)
        for pframe, ds in held:
            self._data_set(pframe, key[0], ds, source)
        if key in self.db_pending_keys:
            self.db_pending_keys.discard(key)
            self._decode_db_pending(key, source)

    def _withdraw(self, key: TemplateKey, frame: int, h: ExportHeader) -> None:
        tpl = self.templates.pop(key, None)
        if tpl is not None or key in self.touched:
            self.touched[key] = (None, frame, h.export_secs)

    def _decode_db_pending(self, key: TemplateKey, source: str) -> None:
        params = dict(zip(("e", "d", "v", "t"), key, strict=False))
        where = "exporter_ip = $e AND observation_domain = $d AND version = $v AND template_id = $t"
        rows = self.con.execute(
            f"SELECT capture_id, record_pos, export_secs, sys_uptime_ms, body FROM flow_pending_sets "
            f"WHERE {where} ORDER BY capture_id, record_pos", params).fetchall()
        self.con.execute(f"DELETE FROM flow_pending_sets WHERE {where}", params).fetchall()
        for cid, pos, secs, uptime, body in rows:
            header = ExportHeader(key[2], 0, int(secs), 0, None if uptime is None else int(uptime),
                                  0, key[1])
            self._data_set(int(pos), key[0], DataSet(key[3], bytes(body), header), source, int(cid))

    # ---- writing ----

    def _flush(self) -> None:
        self._switch("")
        if self.records:
            self.writer.append_flow_records(self.records)
            self.records = []
        for cid, recs in self.earlier.items():
            self._append_for_earlier(cid, recs)
        self.earlier.clear()
        if self.counters:
            cols = {c: [r.get(c) for r in self.counters] for c in _COUNTER_INPUT}
            cols["agent_hi"] = [None if r["agent_ip"] is None else r["agent_ip"] >> 64 for r in self.counters]
            cols["agent_lo"] = [None if r["agent_ip"] is None else r["agent_ip"] & (2**64 - 1)
                                for r in self.counters]
            # counters are unsigned 32/64-bit fields (a 64-bit one may pass 2**63); position and time are signed
            table = pa.table({k: pa.array(v, type=pa.int64() if k in ("ts_us", "record_pos") else pa.uint64())
                              for k, v in cols.items()})
            self.con.register("_sfc", table)
            try:
                self.con.execute(_INSERT_COUNTERS, {"cid": self.capture_id}).fetchall()
            finally:
                self.con.unregister("_sfc")
            self.counters = []

    def _append_for_earlier(self, cid: int, recs: list[dict]) -> None:
        """Records of an earlier import's pending data sets: stored under that import's capture."""
        before = self.con.execute("SELECT coalesce(max(flow_id), 0) FROM flows").fetchall()[0][0]
        counted = self.writer.counts.flow_records
        self.writer.append_flow_records(recs)
        stored = self.writer.counts.flow_records - counted
        self.writer.counts.flow_records = counted
        self.earlier_stored += stored
        if not stored:
            return
        self.con.execute("UPDATE flows SET capture_id = $old WHERE flow_id > $b", {"old": cid, "b": before}).fetchall()
        self.con.execute(
            """
            UPDATE captures SET flow_records = flow_records + $n,
                first_ts = least(first_ts, (SELECT min(first_ts) FROM flows WHERE flow_id > $b)),
                last_ts = greatest(last_ts, (SELECT max(last_ts) FROM flows WHERE flow_id > $b))
            WHERE capture_id = $old
            """, {"n": stored, "b": before, "old": cid}).fetchall()

    def _park_pending(self) -> None:
        """Move the data sets still waiting for a template from memory to flow_pending_sets."""
        rows = [(frame, key, ds) for key, sets in self.pending.items() for frame, ds in sets]
        if rows:
            table = pa.table({
                "pos": pa.array([r[0] for r in rows], pa.int64()),
                "e_hi": pa.array([r[1][0] >> 64 for r in rows], pa.uint64()),
                "e_lo": pa.array([r[1][0] & (2**64 - 1) for r in rows], pa.uint64()),
                "d": pa.array([r[1][1] for r in rows], pa.uint64()),
                "v": pa.array([r[1][2] for r in rows], pa.uint8()),
                "t": pa.array([r[1][3] for r in rows], pa.uint16()),
                "secs": pa.array([r[2].header.export_secs for r in rows], pa.uint64()),
                "up": pa.array([r[2].header.sys_uptime_ms for r in rows], pa.uint64()),
                "body": pa.array([r[2].body for r in rows], pa.binary()),
            })
            self.con.register("_pend", table)
            try:
                self.con.execute(
                    "INSERT INTO flow_pending_sets SELECT $c, pos, (e_hi::UHUGEINT << 64) | e_lo::UHUGEINT, d, v, t, "
                    "secs, up, body FROM _pend", {"c": self.capture_id}).fetchall()
            finally:
                self.con.unregister("_pend")
            self.db_pending_keys.update(self.pending)
        self.pending.clear()
        self.pending_in_memory = 0

    def finish(self) -> dict:
        """Write what is left, store templates and pending data sets; the import's stats.

        {"flow_records": records stored for this file, "invalid": {reason: count}, "pending_data_sets":
        data sets of this file still waiting for their template, "templates": templates announced in
        this file}, plus "enterprise_values_skipped" and "flow_records_for_earlier_imports" (records of
        earlier files' held data sets, decoded now and stored under those files) when not zero.
        """
        self._flush()
        for key, (tpl, frame, secs) in self.touched.items():
            self.con.execute(
                "INSERT INTO flow_templates VALUES ($c, $e, $d, $v, $t, $o, $s, $f, $ent, $w, $pos, $ts)",
                {"c": self.capture_id, "e": key[0], "d": key[1], "v": key[2], "t": key[3],
                 "o": bool(tpl and tpl.options), "s": tpl.scope_count if tpl else 0,
                 "f": json.dumps([[f.ie, f.length, f.pen] for f in tpl.fields]) if tpl else None,
                 "ent": tpl.enterprise_fields if tpl else 0, "w": tpl is None, "pos": frame,
                 "ts": _ts(secs)}).fetchall()
        self._park_pending()
        insert_rows(self.con, "flow_sequence_gaps", [[self.capture_id, *g] for g in self.gaps])
        pending = self.con.execute("SELECT count(*) FROM flow_pending_sets WHERE capture_id = $c",
                                   {"c": self.capture_id}).fetchall()[0][0]
        self.invalid.update(self.writer.invalid_flows)  # records whose values their columns cannot hold
        stats = {
            "flow_records": self.writer.counts.flow_records,
            "invalid": dict(self.invalid),
            "pending_data_sets": pending,
            "templates": sum(1 for t, _, _ in self.touched.values() if t is not None),
        }
        if self.enterprise_values:
            stats["enterprise_values_skipped"] = self.enterprise_values
        if self.earlier_stored:
            stats["flow_records_for_earlier_imports"] = self.earlier_stored
        if self.gaps:
            lost: Counter = Counter()
            for g in self.gaps:
                lost[g[7]] += g[6]
            stats["sequence_gaps"] = {"gaps": len(self.gaps), "lost": dict(lost)}
        return stats


def _ts(secs: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=secs)


def _ts_us(us: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)


_COUNTER_INPUT = ["record_pos", "ts_us", "sub_agent_id", "sample_sequence", "source_id_type",
                  "source_id_index", "record_enterprise", "record_format", "record_length", *COUNTER_COLUMNS]

_INSERT_COUNTERS = f"""
INSERT INTO sflow_counters
SELECT $cid, record_pos, make_timestamp(ts_us),
    CASE WHEN agent_hi IS NULL THEN NULL ELSE (agent_hi::UHUGEINT << 64) | agent_lo::UHUGEINT END,
    sub_agent_id, sample_sequence, source_id_type, source_id_index, record_enterprise, record_format,
    record_length, {", ".join(COUNTER_COLUMNS)}
FROM _sfc
"""


# ---- flow files --------------------------------------------------------------------------------

# the text flow files, each read a run of lines at a time into columns (the line readers of
# forensics/readers/textflows.py read what the columns cannot): (reader, _line_blocks' block size)
TEXT_READERS = {
    "nfdump-csv": (nfdump_csv_columns.read_nfdump_csv_columns, None),
    "zeek-tsv": (zeek_columns.read_zeek_tsv_columns, None),
    "zeek-json": (zeek_columns.read_zeek_json_columns, 8 << 20),
    "suricata-eve": (eve_columns.read_suricata_eve_columns, 8 << 20),
}


def _import_nfcapd(writer: CaptureWriter, path: str, progress: Callable[[int, int], None] | None) -> dict:
    """An nfcapd file's records, a block of columns at a time (a block the columns cannot read: its records)."""
    return _import_blocks(writer, nfcapd.read_nfcapd_columns(path), progress, [0])


def _import_blocks(writer: CaptureWriter, blocks: Iterable[FlowColumns | list[dict]],
                   progress: Callable[[int, int], None] | None, done: list[int]) -> dict:
    """Append the records of a reader that gives columns, or record dicts where it cannot (invalid ones counted)."""
    invalid: Counter = Counter()
    for block in blocks:
        if isinstance(block, list):
            good = []
            for rec in block:
                if "invalid" in rec:
                    invalid[rec["invalid"]] += 1
                else:
                    good.append(rec)
            writer.append_flow_records(good)
        else:
            writer.append_flow_records(block)
        if progress:
            progress(done[0], writer.counts.flow_records)
    invalid.update(writer.invalid_flows)  # records whose values their columns cannot hold
    return {"flow_records": writer.counts.flow_records, "invalid": dict(invalid), "pending_data_sets": 0,
            "templates": 0}


def import_flow_file(writer: CaptureWriter, path: str, fmt: str,
                     progress: Callable[[int, int], None] | None = None) -> dict:
    """Import one flow file of a format named by forensics.readers.flowfiles.sniff_flow_file."""
    if fmt == "netflow-raw":
        return _import_raw_exports(writer, path, progress)
    if fmt == "nfcapd":
        return _import_nfcapd(writer, path, progress)
    if fmt not in TEXT_READERS:
        raise ValueError(f"unknown flow file format {fmt!r}")
    read, block_bytes = TEXT_READERS[fmt]
    done = [0]
    return _import_blocks(writer, read(_line_blocks(path, done, block_bytes)), progress, done)


MAX_DATAGRAM = 65_535  # the largest UDP payload
MAX_LINE = 1 << 20  # a text flow line longer than this (1 MiB) is not a flow record: the file is refused


def _guarded(path: str) -> BinaryIO:
    """The file's bytes, through its decompressor when compressed, with sniff's bomb guard."""
    with open(path, "rb") as raw:
        codec = compression_of(raw.read(8))
    return io.BufferedReader(open_stream(path, codec, os.path.getsize(path)))  # type: ignore[arg-type]


# _line_blocks' read size, unless the reader says: a Zeek TSV block of 16 MB parses in ~0.15 s; JSON readers take
# 8 MB (pyarrow's JSON reader holds ~15x its block while it parses: a 1 M-line log, 16 MB +240 MB of peak RSS,
# 8 MB +136 MB, 0.5 s slower)
LINE_BLOCK = 16 << 20


def _line_blocks(path: str, done: list[int], block_bytes: int | None = None) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines (the last line may lack its newline), with _counted_lines'
    guards and errors: a line longer than MAX_LINE refuses the file, naming the line and its offset."""
    with _guarded(path) as f:
        rest = b""
        lineno = 0
        while True:
            try:
                chunk = f.read(block_bytes or LINE_BLOCK)
            except GzipBombError as exc:
                raise MalformedError(path, exc.offset, exc.describe()) from None
            except (OSError, EOFError, zlib.error) as exc:
                raise TruncatedError(path, done[0], f"compressed data ends or is damaged ({exc})") from None
            if chunk:  # (one copy of the chunk: what ends its last line stays behind)
                cut = chunk.rfind(b"\n") + 1
                block, rest = (rest + chunk[:cut], chunk[cut:]) if cut else (b"", rest + chunk)
            else:
                block, rest = rest, b""
            del chunk
            if block:
                starts, ends = line_bounds(block)
                long = np.flatnonzero((ends - starts > MAX_LINE) | ((ends - starts == MAX_LINE) & (
                    np.frombuffer(block, np.uint8)[ends - 1] != 10)))
                if len(long):
                    k = int(long[0])
                    raise MalformedError(path, done[0] + int(starts[k]),
                                         f"line {lineno + k + 1} is longer than {MAX_LINE:,} bytes",
                                         "Not a flow file this importer reads")
                lineno += len(starts)
                done[0] += len(block)
                yield block
            if len(rest) >= MAX_LINE:
                raise MalformedError(path, done[0], f"line {lineno + 1} is longer than {MAX_LINE:,} bytes",
                                     "Not a flow file this importer reads")
            if not block and not rest:
                return


def _counted_lines(path: str, done: list[int]) -> Iterable[bytes]:
    """The file's lines one at a time, with the guards of _line_blocks: the input of textflows' line readers
    when they read a whole file (the import reads _line_blocks; tests compare the two)."""
    with _guarded(path) as f:
        lineno = 0
        while True:
            try:
                line = f.readline(MAX_LINE)
            except GzipBombError as exc:
                raise MalformedError(path, exc.offset, exc.describe()) from None
            except (OSError, EOFError, zlib.error) as exc:
                raise TruncatedError(path, done[0], f"compressed data ends or is damaged ({exc})") from None
            if not line:
                return
            lineno += 1
            if len(line) >= MAX_LINE and not line.endswith(b"\n"):
                raise MalformedError(path, done[0], f"line {lineno} is longer than {MAX_LINE:,} bytes",
                                     "Not a flow file this importer reads")
            done[0] += len(line)
            yield line


def split_raw_exports(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(offset, datagram) for a file of bare export payloads laid end to end, read as it goes.

    v5 and IPFIX datagrams carry their length; a NetFlow v9 or sFlow datagram does not, so one found
    in the file runs to its end, or to the most a UDP datagram holds (65,535 bytes; the rest is read as
    the next datagram).
    """
    pos = 0
    while True:
        head = stream.read(4)
        if not head:
            return
        version = int.from_bytes(head[:2], "big")
        if version == 5 and len(head) == 4:
            length = 24 + 48 * int.from_bytes(head[2:4], "big")
        elif version == 10 and len(head) == 4:
            length = max(int.from_bytes(head[2:4], "big"), 4)
        else:
            length = -1
        rest = stream.read(length - 4 if length >= 0 else MAX_DATAGRAM - 4)
        yield pos, head + rest
        pos += len(head) + len(rest)


def _import_raw_exports(writer: CaptureWriter, path: str,
                        progress: Callable[[int, int], None] | None) -> dict:
    collector = ExportCollector(writer, path)
    done = 0
    with _guarded(path) as stream:
        try:
            for index, (offset, payload) in enumerate(split_raw_exports(stream), start=1):
                collector.feed(index, 0, 0, 0, 0, 0, payload)
                done = offset + len(payload)
                if progress and index % 1000 == 0:
                    progress(done, collector.flow_records)
        except GzipBombError as exc:
            raise MalformedError(path, exc.offset, exc.describe()) from None
        except (OSError, EOFError, zlib.error) as exc:
            raise TruncatedError(path, done, f"compressed data ends or is damaged ({exc})") from None
    stats = collector.finish()
    if progress:
        progress(done, stats["flow_records"])
    return stats
