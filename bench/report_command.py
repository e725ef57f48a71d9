"""Benchmark: what one `forensics report` command costs as a user runs it (its own process: interpreter start,
imports, case opens, the report, the run stored, the JSON), optionally against another source tree's.

    python -m bench.report_command --case CASE [--case CASE2 ...] [--report protocol_mix] [--rounds 5]
        [--window FROM,TO] [--baseline TREE]

Each round runs every (report, case) once per tree, interleaved; medians of wall and CPU seconds (the child's
user + system). With --baseline, each tree gets its own copy of every case (a write-open by one version would
otherwise undo what the other keeps in the catalog), made under --work.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.procenv import forensics_env

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _copy(case: Path, to: Path) -> Path:
    to.mkdir(parents=True, exist_ok=True)
    target = to / case.name
    if not target.exists():
        (shutil.copytree if case.is_dir() else shutil.copy2)(case, target)
    return target


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", type=Path, action="append", required=True, help="a case (folder or .duckdb)")
    ap.add_argument("--report", action="append", help="report name (repeatable; default protocol_mix)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--window", help="FROM,TO (ISO times) passed as --from/--to")
    ap.add_argument("--baseline", type=Path, help="another source tree (e.g. `git archive REV | tar -x -C DIR`)")
    ap.add_argument("--work", type=Path, help="where the per-tree case copies go (default: a temporary folder)")
    args = ap.parse_args(argv)
    reports = args.report or ["protocol_mix"]
    window = []
    if args.window:
        start, _, end = args.window.partition(",")
        window = ["--from", start, "--to", end]
    trees = {"this": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-report-command-"))
    cases = {(t, c): (_copy(c, work / t) if args.baseline else c) for t in trees for c in args.case}
    times: dict[tuple, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for report in reports:
            for case in args.case:
                for tree_name, tree in trees.items():
                    cmd = [sys.executable, "-m", "forensics", "report", report, "--db", str(cases[(tree_name, case)]),
                           "-F", "json", "--fresh", *window]
                    c, t = _cpu(), time.perf_counter()
                    subprocess.run(cmd, cwd=tree, env=forensics_env(tree), check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    times.setdefault((report, case, tree_name), []).append((time.perf_counter() - t, _cpu() - c))
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus; "
          f"medians of {args.rounds} rounds, wall / CPU seconds")
    for report in reports:
        for case in args.case:
            cells = []
            for tree_name in trees:
                v = times[(report, case, tree_name)]
                cells.append(f"{tree_name} {statistics.median(x[0] for x in v):.3f} / "
                             f"{statistics.median(x[1] for x in v):.3f}")
            print(f"{report:<16} {str(case):<40} " + "   ".join(cells))
    if args.baseline and not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
