"""Parallel import benchmark (issue 17): several files into a new lake case with --jobs 1 (one process) and
--jobs N (worker processes), rounds interleaved, medians, wall and CPU seconds (workers included) side by side:

    python -m bench.parallel_import                       # 8 files of 250k packets split from /tmp/bench/p2m.pcap
    python -m bench.parallel_import --files 'DIR/*.pcap' --jobs 2 --rounds 3 --json

The files are made once with `editcap -c 250000` under /tmp/parallel/split (the bench capture is only read).
"""

from __future__ import annotations

import argparse
import glob
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from bench.lake import DEFAULT_PCAP, _run

SPLIT = Path("/tmp/parallel/split")


def split_files(pcap: Path, packets: int) -> list[str]:
    """The bench capture cut into files of `packets` packets (made once)."""
    files = sorted(SPLIT.glob("part_*.pcap"))
    if not files:
        SPLIT.mkdir(parents=True, exist_ok=True)
        subprocess.run(["editcap", "-c", str(packets), str(pcap), str(SPLIT / "part.pcap")], check=True)
        files = sorted(SPLIT.glob("part_*.pcap"))
    return [str(f) for f in files]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", type=Path, default=DEFAULT_PCAP)
    ap.add_argument("--files", help="a glob of input files (default: the bench capture split in 250k packets)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/parallel/bench"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    files = sorted(glob.glob(args.files)) if args.files else split_files(args.pcap, 250_000)
    args.work.mkdir(parents=True, exist_ok=True)
    lake = args.work / "lake"
    runs: dict[int, list[dict]] = {1: [], args.jobs: []}

    def fresh() -> None:
        shutil.rmtree(lake, ignore_errors=True)

    for _ in range(args.rounds):
        for jobs in runs:
            cmd = [sys.executable, "-m", "forensics", "import", *files, "--db", str(lake), "--quiet",
                   "--jobs", str(jobs)]
            runs[jobs].append(_run(cmd, before=fresh))
    fresh()
    med = {j: {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s", "rss_mb")}
           for j, rs in runs.items()}
    out = {"files": len(files), "bytes": sum(Path(f).stat().st_size for f in files), "rounds": args.rounds,
           "median": med, "runs": runs,
           "wall_ratio": med[args.jobs]["wall_s"] / med[1]["wall_s"],
           "cpu_ratio": med[args.jobs]["cpu_s"] / med[1]["cpu_s"]}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['files']} files, {out['bytes'] / 1e6:,.0f} MB, {args.rounds} rounds interleaved (medians)")
    print(f"{'jobs':>5} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12}")
    for j, m in med.items():
        print(f"{j:>5} {m['wall_s']:8.1f} {m['cpu_s']:8.1f} {m['rss_mb']:12.0f}")
    print(f"--jobs {args.jobs} / --jobs 1: wall {out['wall_ratio']:.2f}x, CPU {out['cpu_ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
