"""Packet-view test helpers: corpus captures by protocol, tcpdump's lines, ours for the same packets."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CORPUS = (TESTS.parent / ".." / "shared" / "corpus").resolve()
FIRST = 200


def manifest() -> list[dict]:
    with open(CORPUS / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def libpcap_captures() -> list[dict]:
    """MANIFEST rows of the captures tcpdump reads (pcap and single-link pcapng; not gzip)."""
    return [r for r in manifest() if r["format"].startswith("pcap") and "gzip" not in r["format"]
            and r["packets_tcpdump"].isdigit() and int(r["packets_tcpdump"]) > 0]


STARTS = {"": r"\d\d:\d\d:\d\d\.\d{6} ", "-tt": r"\d+\.\d{6} ", "-ttt": r" \d\d:\d\d:\d\d\.\d{6} ",
          "-tttt": r"\d{4}-\d\d-\d\d ", "-ttttt": r" \d\d:\d\d:\d\d\.\d{6} ", "-t": r""}


def tcpdump_lines(path: Path, *flags: str, count: int = FIRST) -> list[str]:
    """`TZ=UTC tcpdump -nn FLAGS -r PATH -c COUNT`, one entry per packet: a packet's first line starts with its
    time stamp; the lines that follow (-v, -x, tunnels' inner packets) are joined to it with '\\n'."""
    mode = next((f for f in flags if f in STARTS), "")
    start = re.compile(STARTS[mode])
    exe = shutil.which("tcpdump")
    assert exe, "tcpdump is required for the oracle tests (Debian package tcpdump)"
    run = subprocess.run([exe, "-nn", *flags, "-r", str(path), "-c", str(count)], capture_output=True, text=True,
                         env={**os.environ, "TZ": "UTC"}, errors="replace")
    out: list[str] = []
    for line in run.stdout.splitlines():
        if out and (not start.match(line) if mode != "-t" else line[:1] in ("\t", " ")):
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def our_lines(case, capture_id: int, options, dump: tuple[str, bool] | None = None,
              count: int = FIRST) -> list[str]:
    """Our entries for the first `count` frames of a capture of the case, read back from the capture file."""
    from forensics.carve import read_records, select_packets
    from forensics.packetview import PacketView

    refs = select_packets(case.con, "capture_id = $c", {"c": capture_id})
    refs = sorted(refs, key=lambda r: r.frame)[:count]
    view = PacketView(options)
    out = []
    for rec in read_records(case.con, refs):
        text = view.line(rec.ts_ns, rec.ref.linktype, rec.data, rec.ref.wirelen)
        if dump:
            text = "\n".join([text, *view.dump(rec.ref.linktype, rec.data, dump[0], link=dump[1])])
        out.append(text)
    return out
