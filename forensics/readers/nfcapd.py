"""nfcapd files, read through the `nfdump` program (`nfdump -r FILE -o json`, times in UTC).

The nfcapd format is nfdump's own (nffile.h) and changes between releases, so the program that wrote
it reads it. The import reads nfdump's output a block of records at a time into columns
(read_nfcapd_columns, forensics.readers.nfcapd_columns); read_nfcapd gives the same records one dict at
a time, and reads any block the columns cannot.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator

from forensics.errors import InputError, MalformedError, TruncatedError
from forensics.readers import nfcapd_columns
from forensics.readers.sniff import GzipBombError, compression_of, open_stream
from forensics.readers.textflows import addr_version, parse_addr, tcp_flag_letters, text_to_us
from forensics.records import FlowColumns

INSTALL_HINT = "Install nfdump (Debian/Ubuntu: apt-get install nfdump; macOS: brew install nfdump) and import again"


def nfdump_program() -> str:
    """Path of the nfdump program; InputError with an install hint when it is not installed."""
    prog = shutil.which("nfdump")
    if prog is None:
        raise InputError("nfdump", None, "nfcapd files are read with the nfdump program, which is not installed",
                         INSTALL_HINT)
    return prog


# nfdump's JSON is read in slices of about this many bytes (~25,000 records of ~650 bytes)
BLOCK_BYTES = 16 << 20


def read_nfcapd(path: str) -> Iterator[dict]:
    """Flow records of an nfcapd file (`record_pos` = record index from 1), source 'nfcapd', one dict each;
    {"invalid": "bad_nfdump_record"} for a record nfdump printed that is not one.

    A compressed nfcapd file (gzip, zstd, ...: forensics.readers.sniff) is decompressed into a private
    temporary folder first, through the bomb guard: nfdump reads files, not streams."""
    index = 0
    with _plain(path) as plain:
        for block in _json_blocks(plain, path):
            for rec in _block_records(block, index):
                index += 1
                yield rec


def read_nfcapd_columns(path: str) -> Iterator[FlowColumns | list[dict]]:
    """The records of read_nfcapd, a block at a time: FlowColumns, or the block's record dicts (the invalid
    ones as {"invalid": ...}) where the columns cannot read it. Same records, same values, same order."""
    index = 0
    with _plain(path) as plain:
        for block in _json_blocks(plain, path):
            cols = nfcapd_columns.scan_block(block, index + 1)
            if cols is None:  # not regular: record by record
                records = list(_block_records(block, index))
                index += len(records)
                yield records
                continue
            index += cols.rows
            if cols.rows:
                yield cols


@contextlib.contextmanager
def _plain(path: str) -> Iterator[str]:
    """The path of `path`'s bytes uncompressed: itself, or a private temporary copy decompressed through the
    bomb guard."""
    with open(path, "rb") as f:
        codec = compression_of(f.read(8))
    if codec is None:
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="forensics-nfcapd-") as folder:
        plain = os.path.join(folder, "nfcapd")
        done = 0
        try:
            with open_stream(path, codec, os.path.getsize(path)) as src, open(plain, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                    done += len(chunk)
        except GzipBombError as exc:
            raise MalformedError(path, exc.offset, exc.describe()) from None
        except (OSError, EOFError) as exc:
            raise TruncatedError(path, done, f"compressed data ends or is damaged ({exc})") from None
        yield plain


def _json_blocks(file: str, path: str) -> Iterator[bytes]:
    """`nfdump -r file -o json` in slices that each end with a whole record (a line starting with "}"), read
    on a thread of their own so that nfdump goes on writing while the caller reads a slice (without it, nfdump
    waits on a full pipe); errors name `path`, the file the user gave."""
    prog = nfdump_program()
    env = dict(os.environ, TZ="UTC")
    proc = subprocess.Popen([prog, "-r", file, "-o", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    assert proc.stdout is not None and proc.stderr is not None
    err: list[bytes] = []
    drain = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)  # (never a full pipe)
    drain.start()
    slices: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def read() -> None:
        rest = b""
        try:
            while not stop.is_set() and (chunk := proc.stdout.read(BLOCK_BYTES)):
                cut = chunk.rfind(b"\n}")
                if cut < 0:
                    rest += chunk
                    continue
                slices.put(rest + chunk[:cut + 2])
                rest = chunk[cut + 2:]
            if rest.strip(b" \t\r\n,]"):
                slices.put(rest)
            slices.put(None)
        except BaseException as exc:  # handed to the caller
            slices.put(exc)

    reader = threading.Thread(target=read, daemon=True, name="forensics-nfdump")
    reader.start()
    try:
        while (item := slices.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        if proc.poll() is None and reader.is_alive():
            proc.kill()  # (the caller stopped early)
        while reader.is_alive():  # (let a put() waiting for room go)
            try:
                slices.get(timeout=0.1)
            except queue.Empty:
                pass
        proc.stdout.close()
        code = proc.wait()
        drain.join()
    text = b"".join(err).decode("utf-8", "replace")
    # nfdump 1.7 exits 0 for some unreadable files and says why on stderr only
    complaints = [ln for ln in text.splitlines() if any(w in ln.lower() for w in ("error", "can not", "failed"))]
    if code != 0 or complaints:
        first = (complaints or text.strip().splitlines() or ["no message"])[0]
        raise InputError(path, None, f"nfdump could not read the file: {first}",
                         "Check that it is an nfcapd file written by a compatible nfdump version")


def _block_records(block: bytes, index: int) -> Iterator[dict]:
    """The records of one block of nfdump's JSON, one dict each (numbered after `index`): a line "{" opens a
    record, a line starting with "}" closes it."""
    lines: list[str] = []
    for line in block.decode("utf-8", "replace").splitlines():
        s = line.strip()
        if s == "{":
            lines = [s]
        elif lines:
            if s.startswith("}"):
                lines.append("}")
                index += 1
                try:
                    yield nfdump_json_record(json.loads("\n".join(lines)), index)
                except (ValueError, KeyError, TypeError, AttributeError):
                    yield {"invalid": "bad_nfdump_record"}
                lines = []
            else:
                lines.append(s)


def nfdump_json_record(r: dict, index: int) -> dict:
    """One record of `nfdump -o json` as a flow record dict."""
    src = parse_addr(r.get("src4_addr") or r.get("src6_addr"))
    dst = parse_addr(r.get("dst4_addr") or r.get("dst6_addr"))
    proto = r.get("proto")
    rec = {
        "source": "nfcapd", "record_pos": index,
        "first_ts_us": text_to_us(r["first"]), "last_ts_us": text_to_us(r.get("last", r["first"])),
        "ip_version": addr_version(src), "src_ip": src, "dst_ip": dst, "ip_proto": proto,
        "src_port": r.get("src_port"), "dst_port": r.get("dst_port"),
        "tcp_flags": tcp_flag_letters(r.get("tcp_flags", "")) if isinstance(r.get("tcp_flags"), str)
        else r.get("tcp_flags"),
        "tos": r.get("src_tos"), "packets": r.get("in_packets", 0), "bytes": r.get("in_bytes", 0),
        "in_if": r.get("input_snmp"), "out_if": r.get("output_snmp"),
        "src_as": r.get("src_as"), "dst_as": r.get("dst_as"), "direction": r.get("direction"),
        "next_hop": parse_addr(r.get("ip4_next_hop") or r.get("ip6_next_hop")),
        "exporter_ip": parse_addr(r.get("ip4_router") or r.get("ip6_router")),
        "observation_domain": r.get("export_sysid"),
        "vlan": r.get("src_vlan") or None,
    }
    if proto in (1, 58):
        if "icmp_type" in r:
            rec["icmp_type"], rec["icmp_code"] = r["icmp_type"], r.get("icmp_code")
        else:
            port = r.get("dst_port") or 0
            rec["icmp_type"], rec["icmp_code"] = port >> 8, port & 0xFF
        rec["src_port"], rec["dst_port"] = 0, 0
    return rec
