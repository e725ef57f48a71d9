"""The import pipeline: files -> readers -> store, one transaction per file.

    from forensics.store import Case
    from forensics.ingest import import_paths, ImportOptions

    with Case.open("case.duckdb") as case:
        summary = import_paths(case, ["captures/"], ImportOptions(idle_timeout=15))
        print(summary.exit_code)   # 0 all imported, 1 some input rejected (all else kept)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from forensics.appdata.select import CandidateSelector
from forensics.config_defaults import DEFAULT_HOME, case_config_file
from forensics.errors import InputError, UsageError
from forensics.ingest.app_labels import label_flows, payload_evidence
from forensics.ingest.appdata_pass import extract_appdata, parse_appdata, reads_stored_packets
from forensics.ingest.flowmeter import FlowColumns, FlowMeter
from forensics.ingest.pipeline import GuardedProgress, Later, SideBySide, read_ahead
from forensics.ingest.walk import expand_paths
from forensics.netaddr import cidr_range
from forensics.readers.capture import CaptureReader
from forensics.readers.filehash import FileHasher, take_early
from forensics.readers.sniff import Sniffed, compression_of, sniff
from forensics.resources import read_sql
from forensics.store import PACKET_BATCH_ROWS, CaptureMeta, CaptureWriter, Case, PacketStats, packet_table
from forensics.store.home_bits import home_fingerprint, home_ranges
from forensics.store.pending_parts import PendingParts


@dataclass
class ImportOptions:
    """How to import. Timeouts are in seconds."""

    force: bool = False
    idle_timeout: float = 15.0
    active_timeout: float = 1800.0
    # Small captures imported side by side (FORENSICS_IMPORT_WORKERS; default 2 with 2 cores or more), each
    # in its own transaction; large files one at a time, each using every core.
    workers: int = field(default_factory=lambda: _default_workers())
    # Application metadata (dns, dhcp, ntp, tls, http tables; ingest/appdata_pass.py). FORENSICS_APPDATA=0: off.
    appdata: bool = field(default_factory=lambda: os.environ.get("FORENSICS_APPDATA", "1") != "0")
    # Worker processes for the files of a lake case (forensics/ingest/workers.py): None chooses (one per core
    # when the files are large enough to pay for starting them), 1 imports in this process.
    jobs: int | None = None
    # The home blocks ((lo, hi) 128-bit pairs) a lake's flows parts record src_home/dst_home against
    # (forensics/store/home_bits.py); import_paths fills in the case config's (forensics.toml beside the case,
    # else the defaults). None: no bits (NULL), and the reports test the addresses.
    home: tuple[tuple[int, int], ...] | None = None


def case_home(case: Case) -> tuple[tuple[int, int], ...] | None:
    """The home blocks of the case's config, as the reports load it without --config (None: it does not load;
    the import goes on, and its flows get no home bits). Without a forensics.toml beside the case (as
    load_config decides), the built-in blocks, without loading forensics.config."""
    path = getattr(case, "path", None)
    if case_config_file(path) is None:
        return home_ranges(cidr_range(text) for text in DEFAULT_HOME)
    from forensics.config import load_config
    try:
        config = load_config(None, path)
    except UsageError:
        return None
    return home_ranges((n.lo, n.hi) for n in config.home)


@dataclass
class FileResult:
    """What happened to one input file."""

    path: str
    status: str  # imported | replaced | duplicate | partial | rejected
    capture_id: int | None = None
    format: str | None = None
    link_types: str | None = None
    packets: int = 0
    flow_records: int = 0
    flows: int = 0
    malformed: int = 0
    undecoded: int = 0
    message: str | None = None
    offset: int | None = None
    seconds: float = 0.0
    details: dict = field(default_factory=dict)


@dataclass
class ImportSummary:
    """All files of one import."""

    files: list[FileResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every file imported (or was already there), 1 when any was rejected in part or whole."""
        return 1 if any(f.status in ("partial", "rejected") for f in self.files) else 0

    def totals(self) -> dict:
        return {
            "files": len(self.files),
            "imported": sum(f.status in ("imported", "replaced", "partial") for f in self.files),
            "duplicates": sum(f.status == "duplicate" for f in self.files),
            "rejected": sum(f.status == "rejected" for f in self.files),
            "partial": sum(f.status == "partial" for f in self.files),
            "packets": sum(f.packets for f in self.files),
            "flow_records": sum(f.flow_records for f in self.files),
            "flows": sum(f.flows for f in self.files),
        }

    def to_dict(self) -> dict:
        return {"totals": self.totals(), "exit_code": self.exit_code, "files": [asdict(f) for f in self.files]}


class ImportProgress(Protocol):
    """What the pipeline reports while it works (the CLI draws a bar; the library default says nothing)."""

    def file_started(self, path: str, size: int) -> None: ...

    def advanced(self, bytes_done: int, packets: int) -> None: ...

    def file_done(self, result: FileResult) -> None: ...


class NullProgress:
    """Progress that says nothing (piped output, --quiet, library use)."""

    def file_started(self, path: str, size: int) -> None:
        pass

    def advanced(self, bytes_done: int, packets: int) -> None:
        pass

    def file_done(self, result: FileResult) -> None:
        pass


def import_paths(
    case: Case, paths: Iterable[str], options: ImportOptions | None = None, progress: ImportProgress | None = None,
) -> ImportSummary:
    """Import files and folders (recursively) into the case. Never raises for bad input files."""
    options = options or ImportOptions()
    if options.home is None:  # (a lake: the flows parts' home bits; a single file: its rollups)
        options = replace(options, home=case_home(case))
    progress = progress or NullProgress()
    summary = ImportSummary()
    files, problems = expand_paths(paths)
    for path, message in problems:  # missing, special files, dangling links, link loops: one line each
        result = FileResult(path, "rejected", message=message)
        summary.files.append(result)
        progress.file_done(result)
    if len(files) > 1 and case.lake_root is not None:
        from forensics.ingest.workers import import_in_processes, process_jobs

        jobs = process_jobs(files, options)
        if jobs > 1:
            with case.import_memory():
                summary.files.extend(import_in_processes(case, files, options, progress, jobs))
            return summary
    with case.import_memory():
        for group in _plan(files, options):
            if len(group) > 1:
                summary.files.extend(_import_side_by_side(case, group, options, progress))
            else:
                started = time.perf_counter()
                result = _import_file(case, group[0], options, progress)
                result.seconds = round(time.perf_counter() - started, 3)
                summary.files.append(result)
                progress.file_done(result)
    return summary


def _default_workers() -> int:
    env = os.environ.get("FORENSICS_IMPORT_WORKERS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return min(2, os.cpu_count() or 1)


SIDE_BY_SIDE_MAX_BYTES = 4 << 20  # pcap/pcapng files up to this size are imported several at a time


def _plan(files: list[str], options: ImportOptions) -> list[list[str]]:
    """Files in order, grouped: a run of small captures is imported side by side, anything else alone."""
    groups: list[list[str]] = []
    run: list[str] = []
    for path in files:
        if options.workers > 1 and not options.force and _small_capture(path):
            run.append(path)
            continue
        if run:
            groups.append(run)
            run = []
        groups.append([path])
    if run:
        groups.append(run)
    return groups


def _small_capture(path: str) -> bool:
    try:
        size = os.path.getsize(path)
        return 0 < size <= SIDE_BY_SIDE_MAX_BYTES and sniff(path, size).kind in ("pcap", "pcapng")
    except OSError:
        return False


def _import_side_by_side(case: Case, paths: list[str], options: ImportOptions,
                         progress: ImportProgress) -> list[FileResult]:
    """Small captures, `options.workers` at a time, each read whole and then stored in its own transaction
    on its own connection. Ids, duplicates and flow-export records come out as importing them one at a
    time in order gives. An interrupt stops every file in progress (each rolls back) and is raised here."""
    first_id = case.con.execute("SELECT coalesce(max(capture_id), 0) + 1 FROM captures").fetchall()[0][0]
    run = SideBySide(len(paths), int(first_id))
    guarded = GuardedProgress(progress, run.abort)

    def one(index: int) -> FileResult:
        worker = Case(case.con.cursor(), case.path)
        try:
            started = time.perf_counter()
            result = _import_read_first(worker, index, paths[index], options, guarded, run)
            result.seconds = round(time.perf_counter() - started, 3)
            guarded.file_done(result)
            return result
        finally:
            run.finished(index)
            worker.close()

    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="forensics-import") as pool:
        futures = [pool.submit(one, i) for i in range(len(paths))]
        try:
            return [f.result() for f in futures]
        except BaseException:
            run.abort.set()
            for f in futures:
                f.cancel()
            raise


def _import_read_first(case: Case, index: int, path: str, options: ImportOptions, progress: ImportProgress,
                       run: SideBySide) -> FileResult:
    pre = _precheck(case, path, options, progress, hash_now=True)
    if isinstance(pre, FileResult):
        run.was_read(index, None, path)
        return pre
    size, sniffed, hasher = pre
    reader = CaptureReader(path, sniffed, size, batch_rows=PACKET_BATCH_ROWS)
    meter = FlowMeter(0, *_timeouts_us(options))
    selector = _selector(case, options)
    items = list(_decode_items(reader, meter, progress, selector, case.lake_root is not None))
    stored = not (reader.rejected is not None and reader.packets == 0)
    run.was_read(index, hasher.digest if stored else None, path)
    if not stored:
        _let_go_frames(selector)  # nothing readable: rejected whole, as _import_capture rejects it
        exc = reader.rejected
        assert exc is not None
        case.record_reject(path, exc.offset, str(exc))
        return FileResult(path, "rejected", format=sniffed.format, message=str(exc), offset=exc.offset)
    cid, same_as = run.capture_id(index)
    if same_as is not None:
        _let_go_frames(selector)
        return FileResult(path, "duplicate", capture_id=cid,
                          message=f"{path}: same content already imported as capture {cid} "
                                  f"({Path(run.path[same_as]).resolve()}); nothing done (use --force to replace it)")
    if any(exports for _, _, exports, _ in items):
        run.wait_done_before(index)  # before its transaction begins, so that it sees what they stored
    return _import_capture(case, path, size, sniffed, hasher, options, progress,
                           _Decoded(reader, meter, items, selector), cid)


def _precheck(case: Case, path: str, options: ImportOptions, progress: ImportProgress,
              hash_now: bool = False) -> FileResult | tuple[int, Sniffed, FileHasher]:
    """What comes before reading a file: its size, kind, and sha256 (hashed first when the size matches a
    capture already here, so that a re-import costs no decoding; else on another thread, unless hash_now).
    A FileResult when that settles the file (missing, empty, already imported)."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        return FileResult(path, "rejected", message=f"{path}: cannot read: {exc.strerror}")
    progress.file_started(path, size)
    if size == 0:
        msg = f"{path}, byte offset 0: empty file (0 bytes); nothing to import"
        case.record_reject(path, 0, msg)
        return FileResult(path, "rejected", message=msg, offset=0)
    try:
        sniffed = sniff(path, size)
    except OSError as exc:
        return FileResult(path, "rejected", message=f"{path}: cannot read: {exc.strerror}")
    same_size = case.con.execute("SELECT count(*) FROM captures WHERE size_bytes = $s", {"s": size}).fetchone()[0]
    hasher = take_early(path) or FileHasher(path)  # begun by the CLI before the heavy imports, or not
    if same_size or hash_now:
        hasher.wait()
        dup = _duplicate_check(case, path, hasher.digest, options)
        if dup is not None:
            return dup
    else:
        hasher.begin()
    return size, sniffed, hasher


def _import_file(case: Case, path: str, options: ImportOptions, progress: ImportProgress,
                 capture_id: int | None = None) -> FileResult:
    pre = _precheck(case, path, options, progress)
    if isinstance(pre, FileResult):
        return pre
    size, sniffed, hasher = pre

    if sniffed.kind in ("pcap", "pcapng"):
        return _import_capture(case, path, size, sniffed, hasher, options, progress, capture_id=capture_id)
    flow_fmt = _sniff_flow_file(path, sniffed.head) if sniffed.kind == "other" else None
    if flow_fmt is not None:
        return _import_flow_file(case, path, size, flow_fmt, sniffed.compression, hasher, options, progress,
                                 capture_id)
    inner = compression_of(sniffed.head) if sniffed.compressed and sniffed.kind == "other" else None
    what = {
        "damaged-compressed": f"{sniffed.compression} file whose data cannot be decompressed",
        "pcap-modified": "'modified' (Kuznetzov) pcap format is not supported",
    }.get(sniffed.kind, f"not a capture or flow file (starts with {sniffed.head[:8].hex(' ')})")
    msg = f"{path}, byte offset 0: {what}. Check the file is a pcap, pcapng or flow export"
    if inner is not None:  # e.g. a .pcap.gz compressed again with zstd
        msg = (f"{path}, byte offset 0: {inner} data inside {sniffed.compression}: one layer of compression is "
               f"read. Decompress the outer one ({sniffed.compression} -dk FILE) and import the result")
    hasher.join()
    case.record_reject(path, 0, msg)
    return FileResult(path, "rejected", message=msg, offset=0)


def _duplicate_check(case: Case, path: str, digest: str | None, options: ImportOptions) -> FileResult | None:
    if digest is None:
        return None
    found = case.capture_by_sha256(digest)
    if found is None:
        return None
    cid, old_path = found
    if options.force:
        return None
    return FileResult(path, "duplicate", capture_id=cid,
                      message=f"{path}: same content already imported as capture {cid} ({old_path}); "
                              "nothing done (use --force to replace it)")


def _finish_hash(case: Case, hasher: FileHasher, path: str, options: ImportOptions) -> tuple[str, FileResult | None]:
    hasher.wait()
    if hasher.error is not None:
        raise InputError(path, None, f"cannot read: {hasher.error.strerror}")
    assert hasher.digest is not None
    dup = _duplicate_check(case, path, hasher.digest, options)
    return hasher.digest, dup


def _replace_existing(case: Case, digest: str, options: ImportOptions) -> bool:
    found = case.capture_by_sha256(digest)
    if found is not None and options.force:
        case.delete_capture(found[0])
        return True
    return False


def _seal(case: Case, writer: CaptureWriter, hasher: FileHasher, path: str, options: ImportOptions,
          result: FileResult) -> None:
    """Inside the file's transaction: settle its sha256, give up on duplicate content, replace on --force."""
    digest, dup = _finish_hash(case, hasher, path, options)
    if dup is not None:
        raise _Abandon(dup)
    if _replace_existing(case, digest, options):
        result.status = "replaced"
    writer.con.execute("UPDATE captures SET sha256 = $s WHERE capture_id = $c", {"s": digest, "c": writer.capture_id})


class _Abandon(Exception):
    """Roll the file's transaction back (duplicate content found after decoding)."""


def _let_go_frames(selector: CandidateSelector | None) -> None:
    """The frames the selector kept (a temporary file) go once the capture's application metadata is read."""
    if selector is not None and selector.frames is not None:
        selector.frames.close()


def _selector(case: Case, options: ImportOptions) -> CandidateSelector | None:
    """The application metadata candidates' selector of one capture (None without the pass); the frames it keeps
    go to a temporary file in the case's folder."""
    if not options.appdata:
        return None
    if case.lake_root is not None:
        folder: Path | None = case.lake_root
    else:
        folder = Path(case.path).resolve().parent if case.path not in ("", ":memory:") else None
    return CandidateSelector(frames_folder=folder if folder is not None and folder.is_dir() else None)


@dataclass
class _Decoded:
    """A small capture read whole before its transaction (files imported side by side)."""

    reader: CaptureReader
    meter: FlowMeter
    items: list
    selector: CandidateSelector | None = None  # application metadata candidates, chosen while decoding


# The read-back begins before the last batch is handed on (beside the main thread's writing of the batch before
# it) for files of up to this many packets; past it, once the main thread has taken the last batch, as before:
# the read-back's memory (the chosen payloads, parsed) beside two packet tables in flight raised the peak RSS of
# the 13.44 M-packet capture (ru_maxrss 983-1,016 MiB in 3 runs; main 935-993, this limit 974-976), against a
# 1 GiB target, for ~0.2 s of a 15 s import. At 2 M packets (the bench capture) that is ~6 % of the wall.
EARLY_READ_BACK_PACKETS = 4_000_000


def _decode_items(reader: CaptureReader, meter: FlowMeter, progress: ImportProgress,
                  selector: CandidateSelector | None = None, lake_layout: bool = False,
                  after: Callable[[], None] | None = None,
                  ) -> Iterator[tuple[pa.Table | PendingParts, PacketStats, list, FlowColumns | None]]:
    """Decode, shape the packets for the store, meter the flows, choose application metadata candidates (on
    the read-ahead thread of a large file). The decoded batch itself is let go here (only its Arrow form
    travels on: flat memory). `after`: run once the last batch is decoded and fed to the selector, before it is
    handed on (on that thread: while the consumer stores the batches before it and the last; it waited for the
    consumer to take the last batch, with one core idle while the consumer wrote the one before); past
    EARLY_READ_BACK_PACKETS, once the consumer has taken the last batch."""
    # what travels on of a batch is copied from it (the selector's parts, the meter's flows) or is one of its
    # FRESH_COLUMNS (the Arrow table's zero-copy columns): its other columns may be the reader's reused buffers
    reader.reuse_batches = True
    if selector is not None:  # candidates chosen, and their frames kept, as the decoder makes each run of rows
        reader.on_rows = selector.feed_rows
    before = 0
    held = None  # a batch made with less than half a batch of the file left: handed on once the rest is read
    for chunk in reader.chunks(lambda done: progress.advanced(done, reader.packets)):
        table = packet_table(chunk.batch, lake_layout)
        tail = False
        if lake_layout:  # the parts of a batch made with (nearly) nothing left to decode: the decode thread may
            # write them while it waits for the main thread (read_ahead's assist); less than half a batch left
            # of a plain file counts (the next batch is then a short one)
            batch_bytes, before = reader.bytes_read - before, reader.bytes_read
            left = reader.size - reader.bytes_read if not reader.sniffed.compressed else None
            tail = left is not None and 2 * left < batch_bytes
            table = PendingParts(table, reader.read_all or tail)
        item = (table, PacketStats.of(chunk.batch), chunk.exports, meter.feed(chunk.batch))
        del table
        del chunk  # not held while the item waits in the queue and the next batch is decoded: -1 batch of RSS
        if reader.read_all and after is not None and reader.packets <= EARLY_READ_BACK_PACKETS:
            after()  # the file is read: this is the last batch
            after = None
        if held is not None:
            yield held
            held = None
        if tail and not reader.read_all:
            held = item  # the short rest decoded first: the read-back (`after`) begins before this batch's parts
            del item  # are written, on this thread or the main one
            continue
        yield item
    if held is not None:
        yield held
    if after is not None:
        after()


def _import_capture(case: Case, path: str, size: int, sniffed: Sniffed, hasher: FileHasher, options: ImportOptions,
                    progress: ImportProgress, decoded: _Decoded | None = None,
                    capture_id: int | None = None) -> FileResult:
    result = FileResult(path, "imported", format=sniffed.format)
    if decoded is None:
        reader = CaptureReader(path, sniffed, size, batch_rows=PACKET_BATCH_ROWS)
        meter = FlowMeter(0, *_timeouts_us(options))  # flow ids for capture 0: the store adds the capture's
        selector = _selector(case, options)
    else:
        reader, meter, selector = decoded.reader, decoded.meter, decoded.selector
    meta = CaptureMeta(path=str(Path(path).resolve()), sha256="pending-" + str(id(reader)), size_bytes=size,
                       format=sniffed.format)
    read_back: list[Later] = []  # the appdata pass's Parsed, the labels' payload evidence
    try:
        with case.importing(meta, small=_small(size, sniffed), capture_id=capture_id) as writer:
            _home_bits(writer, options)
            collector = None  # made at the first UDP datagram that may be a flow export
            finished = _FlowBuffer(writer, meter)

            def parse() -> None:  # after the last batch, from the decode thread: the file read back (no database)
                if selector is not None and reader.packets:  # beside the main thread's last writes, two threads
                    chosen = selector.columns()
                    first = selector.first_payload()  # (the selector lets go of its candidates: `chosen` holds them)
                    frames = selector.kept()  # their frames, kept as they were decoded (no file read again)
                    read_back.append(Later(lambda: parse_appdata(path, sniffed.format, chosen, frames)))
                    read_back.append(Later(lambda: payload_evidence(first, path, sniffed.format, frames)))

            def assist(item: tuple) -> None:  # on the decode thread, the file read: write a batch's parts
                if isinstance(item[0], PendingParts) and item[0].tail and writer.stage is not None:
                    writer.stage.help_write(writer.capture_id, item[0])

            stored: dict = {}  # the appdata pass's outcome once stored

            def idle() -> None:  # the main thread would wait for a batch (the decode thread writes the last one's
                # parts): the file is decoded and read back, so the application metadata is stored meanwhile,
                # unless storing it reads the stored packets (all of them must be in)
                if stored or not read_back:
                    return
                parsed = read_back[0].value()
                if not reads_stored_packets(parsed):
                    stored["appdata"] = extract_appdata(writer, path, sniffed.format, None, parsed, selector.kept())

            items = decoded.items if decoded else read_ahead(
                _decode_items(reader, meter, progress, selector, case.lake_root is not None, parse), depth=1,
                meanwhile=_load_writers, assist=assist, idle=idle if options.appdata else None)
            try:
                for table, stats, exports, flows in items:
                    writer.append_packet_table(table, stats)
                    del table
                    finished.add(flows)
                    if exports and collector is None:
                        collector = _collector(writer, path)
                    if collector is not None:
                        for cand in exports:
                            collector.feed(*cand)
            finally:  # on an error, the decode thread stopped (and done writing a part) before the stage goes
                close = getattr(items, "close", None)
                if close is not None:
                    close()
            finished.add(meter.finish())
            finished.flush()
            writer.add_interfaces([(i.iface, i.section, i.linktype, i.snaplen, i.tsresol_ns, i.name, i.fcs_len,
                                    i.isb_ifrecv, i.isb_ifdrop, i.isb_filteraccept, i.isb_osdrop, i.isb_usrdeliv,
                                    i.isb_start_us, i.isb_end_us)
                                   for i in reader.interfaces])
            if reader.rejected is not None and reader.packets == 0:
                raise reader.rejected  # nothing readable: reject the file whole
            meta.link_types = reader.link_types or None
            # what needs nothing of the file's reading back (its application data and payload evidence, on two
            # threads), done while it goes on: the flow exports, the sha256, the staged flows shown for the labels
            writer.counts.undecoded = reader.undecoded
            if collector is not None:
                stats = collector.finish()
                result.details["flow_exports"] = stats
            _seal(case, writer, hasher, path, options, result)
            if read_back and not meter.out_of_order:  # (out of order: the SQL derives the flows first, below)
                writer.flows_visible()
            writer.packets_visible()  # (the decode thread may still have been writing the last parts)
            parsed, evidence = (read_back[0].value(), read_back[1].value()) if read_back else (None, None)
            read_back.clear()
            frame_tuples = None  # the 5-tuples of the appdata rows that hold none, for the labels
            if options.appdata:
                result.details["appdata"], frame_tuples = stored.pop("appdata", None) or extract_appdata(
                    writer, path, sniffed.format, selector.columns() if selector and not parsed else None, parsed,
                    selector.kept() if selector else None)
                parsed = None  # the parsed payloads and the candidates' columns: not held through the labels
            if reader.rejected is not None:
                writer.counts.rejected = str(reader.rejected)
            result.flows = meter.flows if not meter.out_of_order else derive_flows(writer, options)
            if options.appdata:  # flows.app from payload evidence (ingest/app_labels.py), once flows and appdata are in
                result.details["app_labels"] = label_flows(
                    writer, path, sniffed.format, selector.first_payload() if selector and evidence is None else None,
                    result.details.get("appdata"), evidence, frame_tuples, selector.kept() if selector else None)
                evidence = frame_tuples = None
            result.capture_id = writer.capture_id
            result.packets = writer.counts.packets
            result.flow_records = writer.counts.flow_records
            result.malformed = writer.counts.malformed
            result.undecoded = writer.counts.undecoded
            result.link_types = meta.link_types
    except _Abandon as exc:
        for later in read_back:  # (the sha256 found duplicate content while the file was read back)
            later.wait()
        return exc.args[0]
    except InputError as exc:
        hasher.join()
        case.record_reject(path, exc.offset, str(exc))
        return FileResult(path, "rejected", format=sniffed.format, message=str(exc), offset=exc.offset)
    finally:
        _let_go_frames(selector)
    if reader.rejected is not None:
        result.status = "partial"
        result.message = str(reader.rejected)
        result.offset = reader.rejected.offset
        case.record_reject(path, reader.rejected.offset, str(reader.rejected), result.capture_id)
    return result


def _home_bits(writer: CaptureWriter, options: ImportOptions) -> None:
    """A lake's flows parts of this file get src_home/dst_home from options.home, and flow_home_bits says under
    which blocks (the file's transaction: kept or rolled back with its rows). A single-file case's writer keeps
    the blocks for the rollup of the file's exported flows (forensics/store/flow_rollup.py)."""
    writer.home = options.home
    if writer.stage is None or options.home is None:
        return
    writer.stage.home = options.home
    writer.con.execute("INSERT OR REPLACE INTO flow_home_bits VALUES ($c, $fp)",
                       {"c": writer.capture_id, "fp": home_fingerprint(options.home)})


def _load_writers() -> None:
    """The modules the import's main thread loads at its first writes (pyarrow's Parquet writer and compute
    functions, ~0.09 s of CPU, and the flow-export reader a capture's first flow-port datagram needs, ~0.05 s),
    loaded while the first batch is being decoded, when that thread would only wait (the 2M-packet bench
    capture: its first batch takes ~0.3 s)."""
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import forensics.ingest.flow_exports  # noqa: F401


class _FlowBuffer:
    """Metered flows collected into appends of whole DuckDB row groups (small appends compress poorly)."""

    ROWS = 2 * 122_880

    def __init__(self, writer: CaptureWriter, meter: FlowMeter) -> None:
        self.writer, self.meter = writer, meter
        self.parts: list[FlowColumns] = []
        self.rows = 0
        # a lake stages a part per flush and merges a day's parts at publish: one row group a flush is enough
        # there, and halves the flush's copies at the streaming peak
        self.flush_rows = self.ROWS // 2 if writer.stage is not None else self.ROWS

    def add(self, flows: FlowColumns | None) -> None:
        if self.meter.out_of_order:
            self.parts, self.rows = [], 0  # the SQL derives this capture's flows instead
            return
        if flows is None:
            return
        self.parts.append(flows)
        self.rows += len(flows["flow_id"])
        if self.rows >= self.flush_rows:
            parts, self.parts = self.parts, []
            whole = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            del parts  # the pieces go before the write, and the rest is a copy: `whole` goes after it
            cut = self.rows - self.rows % self.flush_rows
            self.parts, self.rows = [{k: v[cut:].copy() for k, v in whole.items()}], self.rows - cut
            head = {k: v[:cut] for k, v in whole.items()}
            del whole
            self.writer.append_derived_flows(head)

    def flush(self) -> None:
        if self.rows and not self.meter.out_of_order:
            self.writer.append_derived_flows({k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]})
        self.parts, self.rows = [], 0


def _small(size: int, sniffed: Sniffed) -> bool:
    """A file whose rows can wait in its own transaction (one commit) rather than go in batch by batch."""
    return size <= (4 << 20 if sniffed.compressed else 64 << 20)


def _timeouts_us(options: ImportOptions) -> tuple[int, int]:
    return int(options.idle_timeout * 1_000_000), max(1, int(options.active_timeout * 1_000_000))


def derive_flows(writer: CaptureWriter, options: ImportOptions) -> int:
    """Build the pcap-derived flows of the capture being imported with queries/derive/flows_from_packets.sql.

    The import meters flows while it decodes (forensics.ingest.flowmeter, the same definition); this SQL
    is the reference, and the path taken when the capture's timestamps go backwards.
    """
    writer.clear_derived_flows()
    idle_us, active_us = _timeouts_us(options)
    sql = read_sql("derive/flows_from_packets.sql")
    writer.bulk.execute(sql, {"capture_id": writer.capture_id, "idle_us": idle_us, "active_us": active_us}).fetchall()
    return writer.bulk.execute("SELECT count(*) FROM flows WHERE capture_id = $c AND source = 'pcap'",
                               {"c": writer.capture_id}).fetchall()[0][0]


def _collector(writer: CaptureWriter, path: str):  # noqa: ANN202 - optional area
    try:
        from forensics.ingest.flow_exports import ExportCollector
    except ImportError:
        return None
    return ExportCollector(writer, path)


def _sniff_flow_file(path: str, head: bytes) -> str | None:
    try:
        from forensics.readers.flowfiles import sniff_flow_file
    except ImportError:
        return None
    return sniff_flow_file(path, head)


def _import_flow_file(case: Case, path: str, size: int, fmt: str, compression: str | None, hasher: FileHasher,
                      options: ImportOptions, progress: ImportProgress, capture_id: int | None = None) -> FileResult:
    from forensics.ingest.flow_exports import import_flow_file

    result = FileResult(path, "imported", format=fmt + (f"+{compression}" if compression else ""))
    meta = CaptureMeta(path=str(Path(path).resolve()), sha256="pending-flowfile", size_bytes=size,
                       format=result.format)
    try:
        with case.importing(meta, capture_id=capture_id) as writer:
            _home_bits(writer, options)
            # no packets stream in: DuckDB works under the tail's limit from the start (a 10 M-flow nfcapd file
            # into a lake: 994 -> 682 MB of peak RSS, 40.3 -> 41.4 s)
            case.import_tail_memory()
            stats = import_flow_file(writer, path, fmt, lambda b, r: progress.advanced(b, r))
            result.details["flow_exports"] = stats
            _seal(case, writer, hasher, path, options, result)
            result.capture_id = writer.capture_id
            result.flow_records = writer.counts.flow_records
            invalid = sum((stats or {}).get("invalid", {}).values()) if isinstance(stats, dict) else 0
            writer.counts.malformed = invalid
            result.malformed = invalid
    except _Abandon as exc:
        return exc.args[0]
    except InputError as exc:
        hasher.join()
        case.record_reject(path, exc.offset, str(exc))
        return FileResult(path, "rejected", format=fmt, message=str(exc), offset=exc.offset)
    return result
