"""Importing an nfcapd file next to nfdump reading it, in the same run (ratios).

    python -m bench.nfcapd_import                          # 1 M flows, written to a temporary folder
    python -m bench.nfcapd_import --flows 10000000 --keep /tmp/speed/b10m --rounds 1

The file: bench.reports_nfdump's generated flows sent as NetFlow v5 to a local nfcapd (with --keep, an
nfcapd file already under KEEP/nfcapd is reused). Each round runs, as processes, in turn:

- `forensics import --quiet --db NEW FILE` into a new lake case (and with --single, a new single-file case);
- `nfdump -r FILE -o json > /dev/null`: nfdump printing every record as the JSON the import reads (its floor:
  forensics reads nfcapd files through nfdump);
- `nfdump -r FILE -o csv > /dev/null` and `nfdump -r FILE -s srcip/bytes -n 10`: what an analyst would run.

Printed: the median wall seconds of each, and forensics' ratio to each peer. The imported flows, packets and
bytes are checked against nfdump's own Summary totals.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.reports_nfdump import generate, write_nfcapd


def _run(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def _summary(nffile: Path) -> dict[str, int]:
    """nfdump's own totals (the Summary lines of its CSV output): flows, packets, bytes."""
    lines = subprocess.run(["nfdump", "-r", str(nffile), "-o", "csv"], check=True, capture_output=True,
                           text=True).stdout.splitlines()
    i = lines.index("Summary")
    return {k: int(v) for k, v in zip(lines[i + 1].split(","), lines[i + 2].split(","), strict=True)
            if k in ("flows", "bytes", "packets")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="reuse (or write) the nfcapd file under KEEP/nfcapd")
    ap.add_argument("--single", action="store_true", help="also import into a single-file case")
    args = ap.parse_args()
    for tool in ("nfcapd", "nfdump", "forensics"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} missing (nfdump tools: apt-get install -y nfdump; forensics: pip install .)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-nfcapd-"))
    (work / "nfcapd").mkdir(parents=True, exist_ok=True)
    existing = sorted(p for p in (work / "nfcapd").rglob("nfcapd.*") if not p.name.startswith("nfcapd.current"))
    if existing:
        nffile = existing[-1]
        print(f"reusing {nffile}")
    else:
        secs, nffile = write_nfcapd(work / "nfcapd", generate(args.flows))
        print(f"nfcapd file written in {secs:.1f} s: {nffile}")
    utc = dict(os.environ, TZ="UTC")
    targets = {"forensics import (lake)": "lake"}
    if args.single:
        targets["forensics import (single-file)"] = "single.duckdb"
    peers = {"nfdump -o json": ["nfdump", "-r", str(nffile), "-o", "json"],
             "nfdump -o csv": ["nfdump", "-r", str(nffile), "-o", "csv"],
             "nfdump -s srcip/bytes": ["nfdump", "-r", str(nffile), "-s", "srcip/bytes", "-n", "10"]}
    walls: dict[str, list[float]] = {name: [] for name in [*targets, *peers]}
    scratch = Path(tempfile.mkdtemp(prefix="bench-nfcapd-cases-"))
    try:
        for _ in range(args.rounds):
            for name, target in targets.items():
                for old in scratch.glob(target + "*"):  # (a single-file case's .wal too)
                    shutil.rmtree(old) if old.is_dir() else old.unlink()
                case = scratch / target
                walls[name].append(_run(["forensics", "import", "--quiet", "--db", str(case), str(nffile)]))
            for name, cmd in peers.items():
                walls[name].append(_run(cmd, utc))
        want = _summary(nffile)
        for target in targets.values():
            got = subprocess.run(["forensics", "sql", "--db", str(scratch / target), "--csv",
                                  "SELECT count(*), sum(packets), sum(bytes) FROM flows"],
                                 check=True, capture_output=True, text=True).stdout.splitlines()[-1].split(",")
            same = [int(x) for x in got] == [want["flows"], want["packets"], want["bytes"]]
            print(f"{target}: {got[0]} flows, {got[1]} packets, {got[2]} bytes; nfdump's summary "
                  f"{'the same' if same else want}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    medians = {name: statistics.median(w) for name, w in walls.items()}
    print(f"{'':32} {'wall s':>8}  " + "  ".join(f"{'/ ' + p:>24}" for p in peers))
    for name, w in medians.items():
        ratios = "  ".join(f"{w / medians[p]:>24.2f}" for p in peers) if name in targets else ""
        print(f"{name:32} {w:>8.2f}  {ratios}   walls {[round(x, 2) for x in walls[name]]}")


if __name__ == "__main__":
    main()
