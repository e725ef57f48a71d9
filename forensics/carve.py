"""Carving: the original bytes of selected packets, read back from their capture files and written out.

    refs = select_packets(case.con, *compile_filter("tcp port 445"))
    files = carve(case.con, refs, Path("out.pcap"))          # or pcapng=True

Each packet's bytes come from its source capture (captures.path, verified by sha256; `search` folders
find a moved file by its hash) at packets.file_offset: a pcap record header + caplen bytes, or a pcapng
packet block (EPB 6, SPB 3, obsolete PB 2). Compressed captures (`+gzip`, `+zstd`, ...) are streamed through
their decompressor (offsets are in the decompressed stream). Output is in time order; a pcap holds one link
type, so several link types give one file each (out.pcap -> out-<linktype>.pcap); a pcapng keeps every original
interface.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import duckdb

from forensics.errors import ForensicsError, MalformedError, SourceMissingError, TruncatedError, UsageError
from forensics.readers.sniff import format_compression, open_decompressed

PCAP_MAGIC_USEC = 0xA1B2C3D4
PCAP_MAGIC_NSEC = 0xA1B23C4D
PCAP_MAGIC_MODIFIED = 0xA1B2CD34  # Kuznetzov's patched libpcap: 24-byte record headers
DEFAULT_SNAPLEN = 262144


@dataclass(frozen=True)
class PacketRef:
    """Where one packet of the case lives."""

    capture_id: int
    frame: int
    ts_us: int
    iface: int
    linktype: int
    file_offset: int
    caplen: int
    wirelen: int


_REF_COLUMNS = "capture_id, frame, epoch_us(ts), iface, linktype, file_offset, caplen, wirelen"


def select_packets(con: duckdb.DuckDBPyConnection, where_sql: str = "true", params: dict | None = None,
                   limit: int | None = None) -> list[PacketRef]:
    """Packets matching a SQL condition over the packets table (e.g. from compile_filter), in time order."""
    sql = f"SELECT {_REF_COLUMNS} FROM packets WHERE {where_sql} ORDER BY ts, capture_id, frame"
    bound = dict(params or {})
    if limit is not None:
        sql += " LIMIT $_limit"
        bound["_limit"] = int(limit)
    return [PacketRef(*row) for row in con.execute(sql, bound).fetchall()]


def flow_condition(con: duckdb.DuckDBPyConnection, flow_id: int) -> tuple[str, dict]:
    """SQL condition over packets for the packets of flow `flow_id` (its direction, key and time span).

    A flow derived from a capture selects packets of that capture (same interface and outer VLAN); an
    exported flow record selects the matching packets of any imported capture.
    """
    row = con.execute(
        "SELECT source, capture_id, first_ts, last_ts, src_ip, dst_ip, ip_proto, src_port, dst_port, icmp_type, "
        "icmp_code, iface, vlan FROM flows WHERE flow_id = $id", {"id": int(flow_id)}
    ).fetchone()
    if row is None:
        raise UsageError(f"flow {flow_id}: no such flow in the case; list flows with a report or SQL")
    source, cid, first, last, src, dst, proto, sport, dport, itype, icode, iface, vlan = row
    params = {"c_first": first, "c_last": last, "c_src": src, "c_dst": dst, "c_proto": proto,
              "c_sport": sport or 0, "c_dport": dport or 0}
    sql = ("ts BETWEEN $c_first AND $c_last AND src_ip = $c_src::UHUGEINT AND dst_ip = $c_dst::UHUGEINT "
           "AND ip_proto = $c_proto AND coalesce(src_port, 0) = $c_sport AND coalesce(dst_port, 0) = $c_dport")
    if itype is not None:
        sql += " AND icmp_type = $c_itype AND icmp_code IS NOT DISTINCT FROM $c_icode"
        params.update(c_itype=itype, c_icode=icode)
    if source == "pcap":
        sql += " AND capture_id = $c_cid AND iface IS NOT DISTINCT FROM $c_iface AND coalesce(vlan, 0) = $c_vlan"
        params.update(c_cid=cid, c_iface=iface, c_vlan=vlan or 0)
    return f"({sql})", params


# ----------------------------------------------------------------------------------------- sources


def sha256_of(path: Path) -> str:
    """sha256 of a file's bytes as stored on disk."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Source:
    """A verified capture file."""

    capture_id: int
    path: Path
    format: str


@dataclass
class SourceLocator:
    """Finds each capture's file (recorded path, else by hash under the search folders) and verifies it."""

    con: duckdb.DuckDBPyConnection
    search: list[Path] = field(default_factory=list)
    _found: dict[int, Source] = field(default_factory=dict)

    def source(self, capture_id: int) -> Source:
        """The verified source of a capture; SourceMissingError when missing or changed."""
        if capture_id in self._found:
            return self._found[capture_id]
        row = self.con.execute("SELECT path, sha256, size_bytes, format FROM captures WHERE capture_id = $c",
                               {"c": capture_id}).fetchone()
        if row is None:
            raise UsageError(f"capture {capture_id}: not in the case")
        path, sha, size, fmt = row
        recorded = Path(path)
        problem = None
        if not recorded.is_file():
            problem = "is missing (moved or deleted)"
        elif recorded.stat().st_size != size or sha256_of(recorded) != sha:
            problem = "has changed since it was imported (sha256 differs)"
        if problem is None:
            found = recorded
        else:
            found = self._search(sha, size)
            if found is None:
                where = f" under {', '.join(map(str, self.search))}" if self.search else ""
                raise SourceMissingError(
                    f"{recorded}: capture {capture_id} {problem} and no file with its sha256 was found{where}; "
                    "restore it or pass --search DIR"
                )
        src = Source(capture_id, found, fmt)
        self._found[capture_id] = src
        return src

    def _search(self, sha: str, size: int) -> Path | None:
        for top in self.search:
            for dirpath, _dirs, files in os.walk(top):
                for name in files:
                    p = Path(dirpath) / name
                    try:
                        if p.stat().st_size == size and sha256_of(p) == sha:
                            return p
                    except OSError:
                        continue
        return None


# ----------------------------------------------------------------------------------------- reading


@dataclass
class RawRecord:
    """A packet record as read from its source."""

    ref: PacketRef
    data: bytes  # caplen bytes of packet data
    ts_ns: int  # capture time in nanoseconds since the epoch
    pcap_header: bytes | None = None  # the original 16-byte pcap record header (pcap sources)
    pcap_endian: str | None = None  # '<' or '>' of that header
    pcap_nsec: bool = False
    pcapng_units: int | None = None  # EPB/PB timestamp in interface units (pcapng sources)
    pcapng_options: bytes = b""  # EPB/PB options, little-endian sections only (copied verbatim)


class RecordReader:
    """Reads records at given offsets from one capture file (decompressed as a stream when the format says so)."""

    def __init__(self, source: Source, tsresol_ns: dict[int, int] | None = None) -> None:
        self.source = source
        self.tsresol_ns = tsresol_ns or {}
        codec = format_compression(source.format)
        self.compressed = codec is not None
        self.f: BinaryIO = open_decompressed(str(source.path), codec)
        head = self._read_at(0, 24, allow_short=True)
        self.kind = "pcapng" if source.format.startswith("pcapng") else "pcap"
        self.endian, self.nsec, self.rec_header = "<", False, 16
        if self.kind == "pcap":
            magic_le = struct.unpack("<I", head[:4])[0] if len(head) >= 4 else 0
            magic_be = struct.unpack(">I", head[:4])[0] if len(head) >= 4 else 0
            for endian, magic in (("<", magic_le), (">", magic_be)):
                if magic in (PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC, PCAP_MAGIC_MODIFIED):
                    self.endian = endian
                    self.nsec = magic == PCAP_MAGIC_NSEC
                    self.rec_header = 24 if magic == PCAP_MAGIC_MODIFIED else 16
                    break
            else:
                raise MalformedError(str(source.path), 0, "no pcap magic at the start of the file",
                                     "the file is not the capture that was imported")

    def close(self) -> None:
        """Close the file."""
        self.f.close()

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_at(self, offset: int, n: int, allow_short: bool = False) -> bytes:
        self.f.seek(offset)
        data = self.f.read(n)
        if len(data) < n and not allow_short:
            raise TruncatedError(str(self.source.path), offset, f"record needs {n} bytes, file has {len(data)}",
                                 "the file is shorter than when it was imported")
        return data

    def read(self, ref: PacketRef) -> RawRecord:
        """The record of `ref` (MalformedError when the bytes there are not the expected record)."""
        if self.kind == "pcap":
            return self._read_pcap(ref)
        return self._read_pcapng(ref)

    def _read_pcap(self, ref: PacketRef) -> RawRecord:
        e = self.endian
        hdr = self._read_at(ref.file_offset, self.rec_header)
        sec, sub, caplen, wirelen = struct.unpack(e + "IIII", hdr[:16])
        if caplen != ref.caplen or wirelen != ref.wirelen:
            raise MalformedError(str(self.source.path), ref.file_offset,
                                 f"record header says caplen {caplen}, the case says {ref.caplen}",
                                 "the file is not the capture that was imported")
        data = self.f.read(caplen)
        if len(data) != caplen:
            raise TruncatedError(str(self.source.path), ref.file_offset, "record cut short")
        ts_ns = sec * 1_000_000_000 + sub * (1 if self.nsec else 1000)
        return RawRecord(ref, data, ts_ns, pcap_header=hdr[:16] if self.rec_header == 16 else None,
                         pcap_endian=e, pcap_nsec=self.nsec)

    def _read_pcapng(self, ref: PacketRef) -> RawRecord:
        off = ref.file_offset
        head = self._read_at(off, 8)
        for e in ("<", ">"):
            btype, total = struct.unpack(e + "II", head)
            if btype in (2, 3, 6):
                break
        else:
            raise MalformedError(str(self.source.path), off, "no packet block at the recorded offset",
                                 "the file is not the capture that was imported")
        block = head + self._read_at(off + 8, total - 8)
        if btype == 3:
            data = block[12:12 + ref.caplen]
            return RawRecord(ref, data, ref.ts_us * 1000)
        if btype == 6:
            _iface, hi, lo, caplen, _wire = struct.unpack(e + "IIIII", block[8:28])
        else:
            _iface, _drops, hi, lo, caplen, _wire = struct.unpack(e + "HHIIII", block[8:28])
        data = block[28:28 + caplen]
        if caplen != ref.caplen:
            raise MalformedError(str(self.source.path), off, f"packet block says caplen {caplen}, the case says "
                                 f"{ref.caplen}", "the file is not the capture that was imported")
        units = (hi << 32) | lo
        resol = self.tsresol_ns.get(ref.iface) or 1000
        opts_start = 28 + caplen + (-caplen % 4)
        options = block[opts_start:total - 4] if e == "<" else b""
        return RawRecord(ref, data, units * resol, pcapng_units=units, pcapng_options=options)


class RecordStore:
    """Open readers for the captures of a case, kept across calls (one per capture); close when done."""

    def __init__(self, con: duckdb.DuckDBPyConnection, locator: SourceLocator) -> None:
        self.con = con
        self.locator = locator
        self.readers: dict[int, RecordReader] = {}

    def read(self, ref: PacketRef) -> RawRecord:
        """The original record of `ref` from its verified source."""
        reader = self.readers.get(ref.capture_id)
        if reader is None:
            resol = dict(self.con.execute("SELECT iface, tsresol_ns FROM interfaces WHERE capture_id = $c",
                                          {"c": ref.capture_id}).fetchall())
            reader = self.readers[ref.capture_id] = RecordReader(self.locator.source(ref.capture_id), resol)
        return reader.read(ref)

    def close(self) -> None:
        """Close every open file."""
        for reader in self.readers.values():
            reader.close()
        self.readers.clear()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_records(con: duckdb.DuckDBPyConnection, refs: Iterable[PacketRef],
                 search: Iterable[Path | str] = (), locator: SourceLocator | None = None) -> Iterator[RawRecord]:
    """The original records of `refs`, in the given order, from their verified source files."""
    with RecordStore(con, locator or SourceLocator(con, [Path(s) for s in search])) as store:
        for ref in refs:
            yield store.read(ref)


# ----------------------------------------------------------------------------------------- writing


@dataclass
class CarvedFile:
    """One written file."""

    path: Path
    linktype: int | None
    packets: int


def _pcap_paths(out: Path, linktypes: list[int]) -> dict[int, Path]:
    if len(linktypes) <= 1:
        return {lt: out for lt in linktypes}
    return {lt: out.with_name(f"{out.stem}-{lt}{out.suffix or '.pcap'}") for lt in linktypes}


def _interfaces(con: duckdb.DuckDBPyConnection, refs: list[PacketRef]) -> dict[tuple[int, int], tuple]:
    """(capture_id, iface) -> (linktype, snaplen, ns per timestamp unit, name) for the interfaces of `refs`.

    The resolution of a pcap source comes from its format (pcap-*-nsec: 1 ns, else 1000 ns).
    """
    rows = con.execute(
        "SELECT c.capture_id, i.iface, i.linktype, i.snaplen, "
        "CASE WHEN c.format LIKE 'pcap-%nsec%' THEN 1 WHEN c.format LIKE 'pcap-%' THEN 1000 "
        "ELSE coalesce(i.tsresol_ns, 1000) END, i.name "
        "FROM captures c JOIN interfaces i USING (capture_id) WHERE list_contains($cids, c.capture_id)",
        {"cids": sorted({r.capture_id for r in refs})},
    ).fetchall()
    out = {(r[0], r[1]): r[2:] for r in rows}
    for ref in refs:  # a record whose interface row is missing: its own link type, microseconds
        out.setdefault((ref.capture_id, ref.iface), (ref.linktype, 0, 1000, None))
    return out


def carve(con: duckdb.DuckDBPyConnection, refs: list[PacketRef], out: Path | str, pcapng: bool = False,
          search: Iterable[Path | str] = ()) -> list[CarvedFile]:
    """Write the packets of `refs` (already in time order) to `out`; returns the files written."""
    out = Path(out)
    if not refs:
        raise UsageError("carve: no packet matches; nothing written")
    ifaces = _interfaces(con, refs)
    # Check every source before writing anything, so a missing file leaves no partial output.
    locator = SourceLocator(con, [Path(s) for s in search])
    for cid in sorted({r.capture_id for r in refs}):
        locator.source(cid)
    records = read_records(con, refs, locator=locator)
    if pcapng:
        return [_write_pcapng(out, refs, records, ifaces)]
    return _write_pcaps(out, refs, records, ifaces)


def _write_pcaps(out: Path, refs: list[PacketRef], records: Iterator[RawRecord],
                 ifaces: dict[tuple[int, int], tuple]) -> list[CarvedFile]:
    linktypes = sorted({r.linktype for r in refs})
    paths = _pcap_paths(out, linktypes)
    nsec = any(ifaces[(r.capture_id, r.iface)][2] < 1000 for r in refs)
    handles: dict[int, BinaryIO] = {}
    counts = dict.fromkeys(linktypes, 0)
    try:
        for rec in records:
            lt = rec.ref.linktype
            f = handles.get(lt)
            if f is None:
                snaplens = [ifaces[(r.capture_id, r.iface)][1] or 0 for r in refs if r.linktype == lt]
                snaplen = max(snaplens + [0]) or DEFAULT_SNAPLEN
                f = handles[lt] = open(paths[lt], "wb")
                magic = PCAP_MAGIC_NSEC if nsec else PCAP_MAGIC_USEC
                f.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, lt))
            if rec.pcap_header is not None and rec.pcap_endian == "<" and rec.pcap_nsec == nsec:
                f.write(rec.pcap_header)  # the original record header, byte for byte
            else:
                sec, sub_ns = divmod(rec.ts_ns, 1_000_000_000)
                sub = sub_ns if nsec else sub_ns // 1000
                f.write(struct.pack("<IIII", sec, sub, len(rec.data), rec.ref.wirelen))
            f.write(rec.data)
            counts[lt] += 1
    finally:
        for f in handles.values():
            f.close()
    return [CarvedFile(paths[lt], lt, counts[lt]) for lt in linktypes]


def _block(block_type: int, body: bytes) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("<II", block_type, len(body) + 12) + body + struct.pack("<I", len(body) + 12)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _tsresol_option(resol_ns: int) -> tuple[int, int]:
    """(if_tsresol byte, nanoseconds per unit) for an output interface."""
    for exp in range(10):
        if resol_ns == 10 ** (9 - exp):
            return exp, resol_ns
    return 9, 1


def _write_pcapng(out: Path, refs: list[PacketRef], records: Iterator[RawRecord],
                  ifaces: dict[tuple[int, int], tuple]) -> CarvedFile:
    order: dict[tuple[int, int], int] = {}
    resol_out: dict[tuple[int, int], int] = {}
    n = 0
    with open(out, "wb") as f:
        f.write(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
        for ref in refs:
            key = (ref.capture_id, ref.iface)
            if key in order:
                continue
            linktype, snaplen, tsresol_ns, name = ifaces[key]
            code, per_unit = _tsresol_option(tsresol_ns or 1000)
            opts = b""
            if name:
                opts += _option(2, name.encode())
            opts += _option(9, bytes([code])) + _option(0, b"")
            order[key] = len(order)
            resol_out[key] = per_unit
            f.write(_block(1, struct.pack("<HHI", linktype, 0, snaplen or 0) + opts))
        for rec in records:
            key = (rec.ref.capture_id, rec.ref.iface)
            per_unit = resol_out[key]
            src_resol = ifaces[key][2]
            if rec.pcapng_units is not None and src_resol == per_unit:
                units, options = rec.pcapng_units, rec.pcapng_options
            else:
                units, options = rec.ts_ns // per_unit, b""
            caplen = len(rec.data)
            body = (struct.pack("<IIIII", order[key], units >> 32, units & 0xFFFFFFFF, caplen, rec.ref.wirelen)
                    + rec.data + b"\x00" * (-caplen % 4) + options)
            f.write(_block(6, body))
            n += 1
    return CarvedFile(out, None, n)


# ------------------------------------------------------------------------------------ libpcap (--bpf)


def bpf_frames(con: duckdb.DuckDBPyConnection, capture_id: int, expr: str,
               locator: SourceLocator | None = None) -> list[int]:
    """Frame numbers of a capture that libpcap's own filter selects (`tcpdump -r FILE -w - EXPR`).

    tcpdump's output records are matched to the capture's frames in order by time, lengths and bytes.
    """
    import shutil
    import subprocess

    exe = shutil.which("tcpdump")
    if exe is None:
        raise UsageError("--bpf needs tcpdump on the PATH (Debian: apt install tcpdump)")
    locator = locator or SourceLocator(con, [])
    src = locator.source(capture_id)
    codec = format_compression(src.format)
    compressed = codec is not None
    cmd = [exe, "-r", "-" if compressed else str(src.path), "-w", "-", "--", expr]
    stdin = open_decompressed(str(src.path), codec) if compressed else subprocess.DEVNULL
    frames: list[int] = []
    with subprocess.Popen(cmd, stdin=subprocess.PIPE if compressed else stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        if compressed:
            import threading

            def feed() -> None:
                try:
                    for chunk in iter(lambda: stdin.read(1 << 20), b""):
                        proc.stdin.write(chunk)
                except (BrokenPipeError, OSError):
                    pass
                finally:
                    stdin.close()
                    proc.stdin.close()

            threading.Thread(target=feed, daemon=True).start()
        frames = _match_output(con, capture_id, src, proc.stdout)
        err = proc.stderr.read().decode(errors="replace")
        proc.wait()
    if proc.returncode != 0:
        if "rejects all packets" in err:
            return []
        last = [line for line in err.splitlines() if line.strip()][-1:] or ["no message"]
        raise UsageError(f"--bpf: tcpdump refused {expr!r} on {src.path}: {last[0]}")
    return frames


def _match_output(con: duckdb.DuckDBPyConnection, capture_id: int, src: Source, out: BinaryIO) -> list[int]:
    head = out.read(24)
    if len(head) < 24:
        return []
    e = "<" if struct.unpack("<I", head[:4])[0] in (PCAP_MAGIC_USEC, PCAP_MAGIC_NSEC) else ">"
    cur = con.cursor()
    cur.execute(f"SELECT {_REF_COLUMNS} FROM packets WHERE capture_id = $c ORDER BY frame", {"c": capture_id})
    resol = dict(con.execute("SELECT iface, tsresol_ns FROM interfaces WHERE capture_id = $c",
                             {"c": capture_id}).fetchall())
    frames: list[int] = []
    pending: list[tuple] = []
    with RecordReader(src, resol) as reader:
        while True:
            rh = out.read(16)
            if len(rh) < 16:
                break
            _sec, _sub, caplen, wirelen = struct.unpack(e + "IIII", rh)
            data = out.read(caplen)
            while True:
                if not pending:
                    pending = cur.fetchmany(4096)[::-1]
                    if not pending:
                        raise MalformedError(str(src.path), None, "tcpdump returned a packet the case does not hold",
                                             "re-import the capture")
                ref = PacketRef(*pending.pop())
                # In order, by lengths and bytes (times differ in resolution between the two sides).
                if (ref.caplen, ref.wirelen) == (caplen, wirelen) and reader.read(ref).data == data:
                    frames.append(ref.frame)
                    break
    cur.close()
    return frames


# ------------------------------------------------------------------------------- byte offsets in filters


def register_byte_loads(con: duckdb.DuckDBPyConnection, locator: SourceLocator | None = None) -> None:
    """Define forensics_load(...) on `con`: the header bytes that filters such as `ip[6:2] & 0x3fff != 0` read.

    forensics_load(capture_id, file_offset, caplen, wirelen, linktype, layer, offset, size) reads the packet's
    record from its verified capture file, finds the layer (0 link, 1 network, 2 transport) with the compiled
    decoder (a batch at a time; its offsets equal the exact decoder's) and returns the `size` bytes at `offset`
    as a big-endian number, NULL when they were not captured.
    Compiled filters call it only for packets that SQL already found to have that header (see docs/filters.md).
    Every capture's file is found and verified (sha256) first, so a missing one is a one-line error here, not
    in the middle of a query. Defining it again on the same connection is a no-op.
    """
    import threading

    import numpy as np
    import pyarrow as pa

    from forensics.readers.fastdecode import layer_offsets

    cursor = con.cursor()  # the UDF runs inside a query on `con`: look sources up on a connection of its own
    store = RecordStore(cursor, locator if locator is not None else SourceLocator(cursor, []))
    if locator is not None:
        store.locator.con = cursor
    for (cid,) in cursor.execute("SELECT capture_id FROM captures WHERE packets > 0 ORDER BY 1").fetchall():
        store.locator.source(cid)
    layers: dict[tuple[int, int], tuple[bytes, int, int]] = {}  # (capture, offset) -> data, network, transport
    lock = threading.Lock()  # DuckDB calls the function from several threads; a reader seeks, then reads

    plain: dict[int, tuple[int, str, int] | None] = {}  # uncompressed captures: descriptor, kind, header size

    def data_of(cid: int, off: int, caplen: int, wirelen: int, lt: int) -> bytes:
        """The packet's bytes: one pread from a plain pcap/pcapng, else read as carving does (compressed)."""
        if cid not in plain:
            record = store.read(PacketRef(cid, 0, 0, 0, lt, off, caplen, wirelen))  # opens and checks the reader
            reader = store.readers[cid]
            plain[cid] = None if reader.compressed else (reader.f.fileno(), reader.kind, reader.rec_header)
            return record.data
        known = plain[cid]
        if known is None:
            return store.read(PacketRef(cid, 0, 0, 0, lt, off, caplen, wirelen)).data
        fd, kind, rec_header = known
        if kind == "pcap":
            return os.pread(fd, caplen, off + rec_header)
        block = os.pread(fd, 28 + caplen, off)  # a simple packet block's data starts at 12, the others' at 28
        start = 12 if block[0] == 3 or block[3] == 3 else 28
        return block[start:start + caplen]

    def fill(keys: list[tuple[int, int, int, int, int]]) -> None:
        """Read the packets of `keys` (capture, offset, caplen, wirelen, linktype) and find their layers at once."""
        if len(layers) + len(keys) > 65536:
            layers.clear()
        datas = [data_of(*key) for key in keys]
        starts = np.cumsum([0] + [len(d) for d in datas[:-1]], dtype=np.int64)
        buf = np.frombuffer(b"".join(datas) or b"\0", np.uint8)
        lengths = np.array([len(d) for d in datas], np.int64)
        net, transport = layer_offsets(buf, starts, lengths, np.array([k[3] for k in keys], np.int64),
                                       np.array([k[4] for k in keys], np.int64))
        for key, data, n, t in zip(keys, datas, net.tolist(), transport.tolist(), strict=True):
            layers[key[:2]] = (data, n, t)

    def load(cid, off, caplen, wirelen, lt, layer, at, size):  # noqa: ANN001, ANN202 (DuckDB reads annotations)
        cols = (cid, off, caplen, wirelen, lt, layer, at, size)
        rows = list(zip(*(c.to_pylist() for c in cols), strict=True))
        out: list[int | None] = []
        with lock:
            missing = list(dict.fromkeys(r[:5] for r in rows if None not in r and r[:2] not in layers))
            if missing:
                fill(missing)
            for row in rows:
                if None in row:
                    out.append(None)
                    continue
                data, net, transport = layers[row[:2]]
                base = (0, net, transport)[row[5]] if 0 <= row[5] <= 2 else -1
                at, size = row[6], row[7]
                if base < 0 or at < 0 or base + at + size > len(data):
                    out.append(None)
                else:
                    out.append(int.from_bytes(data[base + at:base + at + size], "big"))
        return pa.array(out, type=pa.int64())

    types = ["INTEGER", "UBIGINT", "UINTEGER", "UINTEGER", "USMALLINT", "TINYINT", "BIGINT", "TINYINT"]
    try:
        con.create_function("forensics_load", load, types, "BIGINT", type="arrow", null_handling="special",
                            side_effects=False)
    except duckdb.Error as exc:
        store.close()
        if "already created" not in str(exc):
            raise


# ------------------------------------------------------------------------------------------ selection


def resolve_capture(con: duckdb.DuckDBPyConnection, text: str) -> int:
    """A capture id from `ID` or a file path (as imported, or the same file by its sha256)."""
    if text.isdigit():
        row = con.execute("SELECT capture_id FROM captures WHERE capture_id = $c", {"c": int(text)}).fetchone()
    else:
        p = Path(text).expanduser()
        row = con.execute("SELECT capture_id FROM captures WHERE path = $p", {"p": str(p.resolve())}).fetchone()
        if row is None and p.is_file():
            row = con.execute("SELECT capture_id FROM captures WHERE sha256 = $s", {"s": sha256_of(p)}).fetchone()
    if row is None:
        raise UsageError(f"--capture {text}: no such capture in the case; `forensics info` lists them")
    return int(row[0])


def packet_selection(con: duckdb.DuckDBPyConnection, filter_expr: str | None = None, bpf: str | None = None,
                     capture: str | None = None, flow_id: int | None = None,
                     locator: SourceLocator | None = None, skipped: list[str] | None = None) -> tuple[str, dict]:
    """SQL condition and parameters over packets for the CLI's selection options (all combined with AND).

    With `bpf` and no `capture`, captures libpcap cannot read (e.g. pcapng with mixed link types) are
    left out and named in `skipped` when a list is given (else the error is raised); a syntax error is
    always raised.
    """
    from forensics.filters import compile_filter

    parts: list[str] = []
    params: dict = {}
    cid = resolve_capture(con, capture) if capture is not None else None
    if cid is not None:
        parts.append("capture_id = $sel_capture")
        params["sel_capture"] = cid
    if filter_expr:
        from forensics.filters.to_sql import uses_byte_loads

        sql, fparams = compile_filter(filter_expr, "packets")
        if uses_byte_loads(sql):
            register_byte_loads(con, locator)
        parts.append(sql)
        params.update(fparams)
    if flow_id is not None:
        sql, fparams = flow_condition(con, flow_id)
        parts.append(sql)
        params.update(fparams)
    if bpf:
        ids = [cid] if cid is not None else [r[0] for r in con.execute(
            "SELECT capture_id FROM captures WHERE packets > 0 ORDER BY capture_id").fetchall()]
        ors = []
        for i in ids:
            try:
                frames = bpf_frames(con, i, bpf, locator)
            except UsageError as exc:
                if skipped is None or cid is not None or "syntax error" in str(exc):
                    raise
                skipped.append(str(exc))
                continue
            if frames:
                ors.append(f"(capture_id = $bpf_c{i} AND list_contains($bpf_f{i}, frame))")
                params[f"bpf_c{i}"] = i
                params[f"bpf_f{i}"] = frames
        parts.append("(" + (" OR ".join(ors) or "false") + ")")
    return (" AND ".join(parts) or "true"), params


class PrunedError(ForensicsError):
    """Some of the selected packets were removed by `forensics retain` (exit 1: what is still held was carved)."""

    exit_code = 1


_SELECTION = "true /* selection */"


def pruned_note(con: duckdb.DuckDBPyConnection, filter_expr: str | None = None, flow_id: int | None = None,
                capture: str | None = None) -> str | None:
    """One line saying that packets of the selection were removed by retention, and when; None when none were
    (or retention never ran). The witnesses are the flows built from those packets, which retention keeps:
    the selection is matched against them (a filter naming per-packet fields cannot be, and says nothing)."""
    from forensics.reports.coverage import install_retention
    from forensics.resources import read_sql
    from forensics.store import retain as retained

    if not retained.held(con):
        return None
    parts: list[str] = []
    params: dict = {}
    if filter_expr:
        from forensics.filters import compile_filter

        try:
            sql, fparams = compile_filter(filter_expr, table="flows", alias=None, prefix="_pr")
        except UsageError:
            return None
        parts.append(sql)
        params.update(fparams)
    if flow_id is not None:
        parts.append("flow_id = $_pr_flow")
        params["_pr_flow"] = int(flow_id)
    if capture is not None:
        parts.append("capture_id = $_pr_capture")
        params["_pr_capture"] = resolve_capture(con, capture)
    install_retention(con)
    where = " AND ".join(f"({p})" for p in parts) or "true"
    flows, packets, partly, first, cutoff, done_at = con.execute(
        read_sql("retain/pruned_flows.sql").replace(_SELECTION, where), params).fetchone()
    if not flows:
        return None
    what = f"{packets:,} packets of {flows - partly:,} flows" if flows > partly else ""
    if partly:
        what += (" and " if what else "") + f"the packets before {cutoff.isoformat()}Z of {partly:,} more flows"
    return (f"{what} matching the selection (from {first.isoformat()}Z) were pruned by `forensics retain` on "
            f"{done_at.isoformat()}Z (packets before {cutoff.isoformat()}Z); only the packets still held were read")


def flows_pruned_note(con: duckdb.DuckDBPyConnection) -> str | None:
    """One line naming the flows-level retentions (packets and flows before a cutoff removed: no witness is
    left to say whether the selection had packets there); None when there were none."""
    from forensics.store import retain as retained

    gone = [r for r in retained.log(con) if r["level"] == "flows"]
    if not gone:
        return None
    last = max(gone, key=lambda r: r["cutoff"])
    return (f"note: packets and flows before {last['cutoff'].isoformat()}Z were removed by `forensics retain` on "
            f"{last['done_at'].isoformat()}Z; nothing older can be read")
