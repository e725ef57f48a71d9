"""Wireshark's verdict on demand: tshark's dissection of chosen frames of a capture file, read in place.

    exe = tshark_path()                                   # UsageError naming what to install when absent
    check_fields(exe, ["ip.src", "tcp.flags"])            # UsageError naming an unknown field
    got = dissect_file(exe, Path("x.pcapng"), [5, 100], tree=True, fields=["ip.src"])
    for number, pkt in sorted(got.packets.items()):     # got.problem: tshark's complaint, if it failed
        print(number, pkt.fields["ip.src"], *pkt.tree, sep="\\n")

tshark reads the ORIGINAL file with a display filter on `frame.number` (`-Y 'frame.number in {5,100}'`) and
stops after the last chosen frame (`-c`, which counts frames read). So frame numbers, times, relative TCP
sequence numbers, stream indexes, reassembly and every other stateful field are tshark's own on that file:
the tree of a frame equals `tshark -r FILE -V -Y 'frame.number==N'`, except the lines that depend on which
other frames are displayed ("[Time delta from previous displayed frame: ...]"). Carving the frames into a new
file would renumber them and lose the state the packets before them set up.

tshark is run directly (found as pyshark finds it: pyshark's config.ini `tshark_path`, then the PATH), not
through pyshark.FileCapture: pyshark parses PDML into a flat dict of fields per protocol, which loses the tree
(nesting, order, text-only lines) that `-V` prints, and it is ~20x slower -- `python -m bench.dissect` on
nDPI/alexa-app.pcapng (3,103 packets), same run, 3 rounds: FileCapture 49 packets/s, tshark -V split into
trees here 1,100 packets/s (machine load 14 on 2 cores; 106 and ~5,500 packets/s at a lighter moment).
Field values come from `-T json -e F` (the same value formatting as `-T fields`, with every occurrence as a
list element, so values holding commas stay whole).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from forensics.errors import UsageError

# Default most packets one `--dissect` prints: at tshark -V's ~1,100 packets/s on a loaded 2-core machine
# (bench/dissect.py; pyshark's own objects: ~50/s) that is about two seconds, and 2,000 trees are ~200,000 lines
# of text -- more than anyone reads; a larger selection is better narrowed (-c, --filter). `--dissect-limit N`
# raises it.
DISSECT_LIMIT = 2000

# A display filter is one command-line argument (Linux caps one at 128 KiB); frames go to tshark in runs whose
# filter stays under this many characters (each run reads the file from its start again).
MAX_FILTER_CHARS = 60_000

INSTALL_HINT = ("install Wireshark's command-line tool tshark (Debian/Ubuntu: apt install tshark; Fedora: dnf "
                "install wireshark-cli; macOS: brew install wireshark) or set tshark_path in pyshark's config.ini")


@dataclass
class Dissected:
    """One frame as tshark sees it: `-V` lines (no trailing blank line) and the asked fields' values."""

    frame: int
    tree: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    lengths: tuple[int, int] | None = None  # (bytes on wire, bytes captured) as tshark read them
    epoch_us: int | None = None  # its time as tshark read it, microseconds since the epoch (cut, not rounded)
    is_packet: bool = True  # False: tshark's record is no packet (its tree starts otherwise than "Frame N:")

    def same_packet(self, wirelen: int, caplen: int, epoch_us: int | None) -> bool:
        """Whether tshark's frame is the case's packet: equal lengths and times (1 us apart at most: a pcapng
        interface counting in 2^-n seconds converts either way); unknown values are not held against it."""
        if not self.is_packet or (self.lengths is not None and self.lengths != (wirelen, caplen)):
            return False
        return self.epoch_us is None or epoch_us is None or abs(self.epoch_us - epoch_us) <= 1


def epoch_us_of(text: str) -> int | None:
    """`1490976022.741105000` (tshark's frame.time_epoch) as microseconds, cut after the sixth digit."""
    sec, _, frac = text.strip().partition(".")
    if not sec.lstrip("-").isdigit() or (frac and not frac.isdigit()):
        return None
    return int(sec) * 1_000_000 + (-1 if sec.startswith("-") else 1) * int((frac + "000000")[:6])


def tshark_path() -> str:
    """The tshark executable, found as pyshark finds it; UsageError saying what to install when absent."""
    from pyshark.tshark.tshark import TSharkNotFoundException, get_process_path

    try:
        return get_process_path()
    except TSharkNotFoundException:
        raise UsageError(f"--dissect needs tshark, which is not on the PATH: {INSTALL_HINT}") from None


_KNOWN: dict[str, frozenset[str]] = {}


def known_fields(exe: str) -> frozenset[str]:
    """Every field and protocol name tshark knows (`tshark -G fields`), cached per executable."""
    if exe not in _KNOWN:
        run = subprocess.run([exe, "-G", "fields"], capture_output=True, text=True, errors="replace")
        if run.returncode != 0:
            raise UsageError(f"{exe} -G fields failed: {_last_line(run.stderr)}; check the tshark install")
        names = set()
        for line in run.stdout.splitlines():
            parts = line.split("\t")
            if parts[0] == "F" and len(parts) > 2:
                names.add(parts[2])
            elif parts[0] == "P" and len(parts) > 2:
                names.add(parts[2])
        _KNOWN[exe] = frozenset(names)
    return _KNOWN[exe]


def check_fields(exe: str, fields: list[str]) -> None:
    """UsageError naming the first field tshark does not know. Column fields (`_ws.col.Info`) are accepted as
    `-T fields` accepts them, though `-G fields` does not list them."""
    known = known_fields(exe)
    for name in fields:
        if not name or (name not in known and not name.startswith("_ws.col.")):
            raise UsageError(f"--dissect-fields: {name!r} is not a Wireshark field name (tshark -G fields lists "
                             "them, e.g. ip.src, tcp.flags, dns.qry.name)")


def parse_field_list(text: str) -> list[str]:
    """`ip.src, tcp.flags` -> ["ip.src", "tcp.flags"] (duplicates dropped, order kept)."""
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise UsageError(f"--dissect-fields {text!r}: give field names separated by commas, e.g. ip.src,tcp.flags")
    return list(dict.fromkeys(names))


def frame_filters(frames: list[int], max_chars: int = MAX_FILTER_CHARS) -> list[tuple[str, int]]:
    """Display filters selecting `frames` (ranges as a..b), split so none is longer than `max_chars`; each
    with the highest frame it selects (tshark's -c)."""
    runs: list[tuple[int, int]] = []
    for f in sorted(set(frames)):
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    out: list[tuple[str, int]] = []
    items: list[str] = []
    size = last = 0
    for lo, hi in runs:
        item = str(lo) if lo == hi else f"{lo}..{hi}"
        if items and size + len(item) + 1 > max_chars:
            out.append(("frame.number in {" + ",".join(items) + "}", last))
            items, size = [], 0
        items.append(item)
        size += len(item) + 1
        last = hi
    if items:
        out.append(("frame.number in {" + ",".join(items) + "}", last))
    return out


_RECORD_LINE = re.compile(r"[^\s:][^:]*? (\d+): ")
_HEX_LINE = re.compile(r"[0-9a-f]{4,}  [0-9a-f]{2} ")
_EPOCH_LINE = re.compile(r"    Epoch Time: (-?\d+\.\d+) seconds$")
_FRAME_LINE = re.compile(r"Frame (\d+): (?:(\d+) bytes on wire \(\d+ bits\), (\d+) bytes captured)?")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("Running as user")]
    return lines[-1] if lines else "no message"


def _trim(lines: list[str] | None) -> None:
    """Drop the blank line(s) tshark ends each packet with."""
    while lines and lines[-1] == "":
        lines.pop()


def _run(exe: str, args: list[str]) -> subprocess.Popen:
    # TZ=UTC: tshark prints "Arrival Time" in the local zone; the tool's times are UTC everywhere.
    return subprocess.Popen([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            errors="replace", env={**os.environ, "TZ": "UTC"})


def _trees(exe: str, path: Path, filt: str, last: int, names: bool,
           on_frame: Callable[[int], None]) -> tuple[dict[int, Dissected], str]:
    """`tshark -V` for the frames of `filt`: frame -> its lines and lengths; and tshark's complaint when it
    failed."""
    args = ["-r", str(path), "-V", "-Y", filt, "-c", str(last)] + ([] if names else ["-n"])
    trees: dict[int, Dissected] = {}
    current: list[str] | None = None
    blank = True
    with _run(exe, args) as proc:
        for raw in proc.stdout:
            line = raw.rstrip("\n")
            # A record starts after a blank line with an unindented line that is not a hex dump's: "Frame 5: 90
            # bytes on wire ...", or for a record that is no packet, e.g. "PCAPNG Custom Block 2: 8 bytes ...".
            start = _RECORD_LINE.match(line) if blank and not _HEX_LINE.match(line) else None
            if start:
                _trim(current)
                number = int(start.group(1))
                match = _FRAME_LINE.match(line)
                lengths = (int(match.group(2)), int(match.group(3))) if match and match.group(2) else None
                trees[number] = Dissected(number, lengths=lengths, is_packet=match is not None)
                current = trees[number].tree
                on_frame(number)
            elif current is not None and trees[number].epoch_us is None and line.startswith("    Epoch Time: "):
                epoch = _EPOCH_LINE.match(line)
                trees[number].epoch_us = epoch_us_of(epoch.group(1)) if epoch else None
            blank = line == ""
            if current is not None:
                current.append(line)  # blank lines too: a data field's hex dump sits between two
        _trim(current)
        err = proc.stderr.read()
    return trees, (_last_line(err) if proc.returncode else "")


def _field_values(exe: str, path: Path, filt: str, last: int, names: bool,
                  fields: list[str]) -> tuple[dict[int, Dissected], str]:
    """`tshark -T json -e frame.number -e F...`: frame -> {field: every occurrence's value} and lengths."""
    args = ["-r", str(path), "-Y", filt, "-c", str(last), "-T", "json", "-e", "frame.number", "-e", "frame.len",
            "-e", "frame.cap_len", "-e", "frame.time_epoch"]
    for name in fields:
        args += ["-e", name]
    if not names:
        args.append("-n")
    with _run(exe, args) as proc:
        out, err = proc.communicate()
    values: dict[int, Dissected] = {}
    try:
        packets = json.loads(out) if out.strip() else []
    except json.JSONDecodeError:
        return values, _last_line(err) or "tshark wrote no readable JSON"
    for pkt in packets:
        layers = pkt.get("_source", {}).get("layers", {})
        number = layers.get("frame.number", [None])[0]
        if number is None:
            continue
        wire, cap = layers.get("frame.len", [None])[0], layers.get("frame.cap_len", [None])[0]
        values[int(number)] = Dissected(int(number), fields={name: [str(v) for v in layers.get(name, [])]
                                                             for name in fields},
                                        lengths=(int(wire), int(cap)) if wire and cap else None,
                                        epoch_us=epoch_us_of(layers.get("frame.time_epoch", [""])[0]))
    return values, (_last_line(err) if proc.returncode else "")


@dataclass
class FileDissection:
    """What tshark said about one file: frame -> Dissected, and its last complaint (empty when it exited 0)."""

    packets: dict[int, Dissected]
    problem: str = ""


def dissect_file(exe: str, path: Path, frames: list[int], tree: bool = True, fields: list[str] | None = None,
                 names: bool = True, on_frame: Callable[[int], None] | None = None) -> FileDissection:
    """tshark's dissection of `frames` (numbers from 1, as tshark counts) of the capture at `path`.

    `tree`: the -V lines; `fields`: the values of those display-filter fields; `names` False is tshark -n
    (no MAC vendor names). `on_frame(n)` is called as each frame's tree arrives (progress). A frame tshark
    did not print is absent from the result, and `problem` holds tshark's last error line when it failed.
    """
    fields = fields or []
    out: dict[int, Dissected] = {}
    problems: list[str] = []
    for filt, last in frame_filters(frames):
        if tree:
            trees, problem = _trees(exe, path, filt, last, names, on_frame or (lambda n: None))
            problems.append(problem)
            out.update(trees)
        if fields:
            values, problem = _field_values(exe, path, filt, last, names, fields)
            problems.append(problem)
            for number, got in values.items():
                pkt = out.setdefault(number, got)
                pkt.fields, pkt.lengths = got.fields, pkt.lengths or got.lengths
                pkt.epoch_us = pkt.epoch_us if pkt.epoch_us is not None else got.epoch_us
                if not tree and on_frame:
                    on_frame(number)
    return FileDissection(out, next((p for p in problems if p), ""))


def tshark_numbers(exe: str, path: Path, packets: list[tuple[int, int, int, int | None]]) -> dict[int, int]:
    """Our frame -> tshark's frame number, for `packets` (frame, wirelen, caplen, epoch_us; in frame order, from
    the first): tshark's records (`-T fields -e frame.number -e frame.len ...`) are matched in order by lengths
    and time, as `--bpf` matches tcpdump's output. Records that are no packet of ours (pcapng custom blocks,
    which tshark counts as frames) are passed over."""
    args = ["-r", str(path), "-T", "fields", "-e", "frame.number", "-e", "frame.len", "-e", "frame.cap_len", "-e",
            "frame.time_epoch", "-e", "frame.encap_type"]
    with _run(exe, args) as proc:
        out, _err = proc.communicate()
    records = []
    for line in out.splitlines():
        cells = line.split("\t")
        if len(cells) >= 3 and cells[0].isdigit() and cells[1].isdigit() and cells[2].isdigit():
            probe = Dissected(int(cells[0]), lengths=(int(cells[1]), int(cells[2])),
                              epoch_us=epoch_us_of(cells[3]) if len(cells) > 3 and cells[3] else None,
                              is_packet=len(cells) > 4 and cells[4] != "")
            records.append(probe)
    mapping: dict[int, int] = {}
    i = 0
    for frame, wirelen, caplen, epoch_us in packets:
        while i < len(records) and not records[i].same_packet(wirelen, caplen, epoch_us):
            i += 1
        if i == len(records):
            break
        mapping[frame] = records[i].frame
        i += 1
    return mapping
