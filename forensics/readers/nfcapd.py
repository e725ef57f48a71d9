"""nfcapd files, read through the `nfdump` program (`nfdump -r FILE -o json`, times in UTC).

The nfcapd format is nfdump's own (nffile.h) and changes between releases, so the program that wrote
it reads it. Records stream from nfdump's output one at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

from forensics.errors import InputError, MalformedError, TruncatedError
from forensics.readers.sniff import GzipBombError, compression_of, open_stream
from forensics.readers.textflows import addr_version, parse_addr, tcp_flag_letters, text_to_us

INSTALL_HINT = "Install nfdump (Debian/Ubuntu: apt-get install nfdump; macOS: brew install nfdump) and import again"


def nfdump_program() -> str:
    """Path of the nfdump program; InputError with an install hint when it is not installed."""
    prog = shutil.which("nfdump")
    if prog is None:
        raise InputError("nfdump", None, "nfcapd files are read with the nfdump program, which is not installed",
                         INSTALL_HINT)
    return prog


def read_nfcapd(path: str) -> Iterator[dict]:
    """Flow records of an nfcapd file (`record_pos` = record index from 1), source 'nfcapd'.

    A compressed nfcapd file (gzip, zstd, ...: forensics.readers.sniff) is decompressed into a private
    temporary folder first, through the bomb guard: nfdump reads files, not streams."""
    with open(path, "rb") as f:
        codec = compression_of(f.read(8))
    if codec is None:
        yield from _read_plain(path, path)
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
        yield from _read_plain(plain, path)


def _read_plain(file: str, path: str) -> Iterator[dict]:
    """read_nfcapd of an uncompressed `file`; errors name `path`, the file the user gave."""
    prog = nfdump_program()
    env = dict(os.environ, TZ="UTC")
    proc = subprocess.Popen([prog, "-r", file, "-o", "json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    index = 0
    block: list[str] = []
    try:
        for line in proc.stdout:
            s = line.strip()
            if s in ("{",):
                block = [s]
            elif block:
                if s.startswith("}"):
                    block.append("}")
                    index += 1
                    try:
                        yield nfdump_json_record(json.loads("\n".join(block)), index)
                    except (ValueError, KeyError):
                        yield {"invalid": "bad_nfdump_record"}
                    block = []
                else:
                    block.append(s)
    finally:
        proc.stdout.close()
        err = proc.stderr.read() if proc.stderr else ""
        code = proc.wait()
    # nfdump 1.7 exits 0 for some unreadable files and says why on stderr only
    complaints = [ln for ln in err.splitlines() if any(w in ln.lower() for w in ("error", "can not", "failed"))]
    if code != 0 or complaints:
        first = (complaints or err.strip().splitlines() or ["no message"])[0]
        raise InputError(path, None, f"nfdump could not read the file: {first}",
                         "Check that it is an nfcapd file written by a compatible nfdump version")


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
