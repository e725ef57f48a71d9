"""Carve test helpers: the corpus captures used, tcpdump runners, capture ids."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CORPUS = (TESTS.parent / ".." / "shared" / "corpus" / "files").resolve()

# One capture of each source kind the carver reads.
SOURCES = {
    "pcap": "suricata-verify/smb2-07__20171220_smb_psexec_add_user.pcap",  # pcap-le-usec, Ethernet
    "nsec": "tcpdump/tcp-handshake-nano.pcap",  # pcap-le-nsec, Linux SLL
    "pcapng": "debian-gopacket/le__test301.pcapng",  # pcapng little-endian
    "pcapng_be": "gopacket/be__test001.pcapng",  # pcapng big-endian
    "gzip": "scapy/http_chunk.pcap.gz",  # pcap through gzip
    "sll": "zeek/linuxsll-arp.pcap",  # Linux SLL, usec
    "qinq": "zeek/http-qinq-0.pcap",  # QinQ: decoded filters and libpcap differ
}


def source(name: str) -> Path:
    path = CORPUS / SOURCES[name]
    assert path.is_file(), f"{path} is missing: the shared corpus must sit at ../shared/corpus"
    return path


def tcpdump(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("tcpdump")
    assert exe, "tcpdump is required for the oracle tests (Debian package tcpdump)"
    return subprocess.run([exe, *args], capture_output=True)


def tcpdump_write(src: Path, out: Path, expr: str = "") -> bytes:
    """What libpcap writes for `src` (as pcap): `tcpdump -r SRC -w OUT [EXPR]`; returns the bytes."""
    args = ["-r", "-" if src.suffix == ".gz" else str(src), "-w", str(out)] + ([expr] if expr else [])
    if src.suffix == ".gz":
        import gzip

        exe = shutil.which("tcpdump")
        proc = subprocess.run([exe, *args], input=gzip.decompress(src.read_bytes()), capture_output=True)
    else:
        proc = tcpdump(*args)
    assert proc.returncode == 0, proc.stderr.decode()
    return out.read_bytes()


def capture_id(case, name: str) -> int:
    row = case.con.execute("SELECT capture_id FROM captures WHERE path = $p", {"p": str(source(name))}).fetchone()
    assert row, f"{name} was not imported"
    return int(row[0])
