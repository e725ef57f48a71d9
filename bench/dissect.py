"""How fast `packets --dissect` can be: pyshark's packet objects against tshark -V text, same file, same run.

    python -m bench.dissect                                  # nDPI/alexa-app.pcapng from the corpus, 3 rounds
    python -m bench.dissect --pcap FILE --rounds 5 --json

Rows (each round runs every row once, in turn; the median of the rounds is reported with min and max):
- pyshark: `pyshark.FileCapture(FILE, keep_packets=False)`, every packet parsed into pyshark's objects.
- tshark -V: `forensics.packetview.dissect.dissect_file` on every frame (tshark -V, split into trees).
- fields: the same with `--dissect-fields ip.src,tcp.flags` alone (tshark -T json -e ...).
- reach last: one tree, the file's last frame: what a late frame costs (tshark reads the file up to it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "files" / "nDPI" / "alexa-app.pcapng"


def frames_of(path: Path, exe: str) -> int:
    run = subprocess.run([exe, "-r", str(path), "-T", "fields", "-e", "frame.number"], capture_output=True,
                         text=True)
    return len(run.stdout.split())


def row_pyshark(path: Path, _exe: str, _n: int) -> int:
    import pyshark

    cap = pyshark.FileCapture(str(path), keep_packets=False)
    count = sum(1 for _ in cap)
    cap.close()
    return count


def row_tree(path: Path, exe: str, n: int) -> int:
    from forensics.packetview.dissect import dissect_file

    return len(dissect_file(exe, path, list(range(1, n + 1))).packets)


def row_fields(path: Path, exe: str, n: int) -> int:
    from forensics.packetview.dissect import dissect_file

    return len(dissect_file(exe, path, list(range(1, n + 1)), tree=False, fields=["ip.src", "tcp.flags"]).packets)


def row_last(path: Path, exe: str, n: int) -> int:
    from forensics.packetview.dissect import dissect_file

    dissect_file(exe, path, [n])
    return n  # frames tshark read to reach it


ROWS = {"pyshark": row_pyshark, "tshark -V": row_tree, "fields": row_fields, "reach last": row_last}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", type=Path, default=DEFAULT.resolve())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip", default="", help="rows to leave out, comma-separated (e.g. pyshark)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from forensics.packetview.dissect import tshark_path

    exe = tshark_path()
    n = frames_of(args.pcap, exe)
    rows = [r for r in ROWS if r not in args.skip.split(",")]
    times: dict[str, list[float]] = {r: [] for r in rows}
    counts: dict[str, int] = {}
    for _ in range(args.rounds):
        for name in rows:
            t = time.perf_counter()
            counts[name] = ROWS[name](args.pcap, exe, n)
            times[name].append(time.perf_counter() - t)
    result = {"file": str(args.pcap), "frames": n, "load_1min": os.getloadavg()[0], "rounds": args.rounds,
              "rows": {r: {"packets": counts[r], "median_s": statistics.median(times[r]), "min_s": min(times[r]),
                           "max_s": max(times[r]), "packets_per_s": counts[r] / statistics.median(times[r])}
                       for r in rows}}
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
        return
    print(f"{result['file']}: {n} frames, load {result['load_1min']:.2f}, {args.rounds} rounds (median, min-max)")
    for r, v in result["rows"].items():
        print(f"{r:12} {v['median_s']:8.2f} s ({v['min_s']:.2f}-{v['max_s']:.2f})  {v['packets_per_s']:10,.0f} "
              "packets/s")


if __name__ == "__main__":
    main()
