"""Reconstruction against `forensics report` on a 2M-packet case (issue 13).

    python -m bench.reconstruct                                  # /tmp/bench/p2m.pcap, imported once into a case
    python -m bench.reconstruct --pcap F --db CASE --rounds 5 --json

Times, as the analyst runs them (each its own process, wall time from start to exit), for the WannaCry report and
a 3-attribute report (src_ip, dst_ip, dst_port; top 10) over the whole case:

    report          forensics report NAME --fresh              (computes and stores a run; --basis auto)
    reconstruct     forensics reconstruct NAME                 (--basis auto)
    packets         forensics reconstruct NAME --basis packets
    flows           forensics reconstruct NAME --basis flows

The variants run in interleaved rounds (round 1: every variant once, round 2: again ...), so a busy machine slows
them alike; the median of the rounds is reported with its ratio to `report` measured in the same run. The case is
the one `--db` names, imported from `--pcap` when it does not exist yet (the import is not timed here: see
bench/ingest.py). Every reconstruction stores a new version in the case, as it does for an analyst.
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

from bench.procenv import forensics_env

ROOT = Path(__file__).resolve().parent.parent
REPORTS = {
    "wannacry": [],
    "attributes": ["--param", "attributes=src_ip,dst_ip,dst_port", "--top", "10"],
}
VARIANTS = {
    "report": ["report", "--fresh"],
    "reconstruct": ["reconstruct"],
    "packets": ["reconstruct", "--basis", "packets"],
    "flows": ["reconstruct", "--basis", "flows"],
}


def _env() -> dict:
    env = forensics_env(ROOT)  # bench/procenv.py
    env.pop("FORENSICS_DEBUG", None)
    return env


def _forensics(*args: str) -> list[str]:
    return [sys.executable, "-m", "forensics", *args]


def ensure_case(pcap: Path, db: Path) -> None:
    """Import `pcap` into `db` unless the case is there already."""
    if db.exists():
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    print(f"importing {pcap} into {db} ...", file=sys.stderr)
    subprocess.run(_forensics("import", "--quiet", "--db", str(db), str(pcap)), check=True, env=_env())


def timed(cmd: list[str]) -> float:
    """Wall seconds of one command (its output discarded; a failure stops the bench)."""
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env())
    took = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    return took


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", type=Path, default=Path("/tmp/bench/p2m.pcap"))
    ap.add_argument("--db", type=Path, default=Path("/tmp/forensics-bench/reconstruct.duckdb"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    ensure_case(args.pcap, args.db)
    times: dict[str, dict[str, list[float]]] = {r: {v: [] for v in VARIANTS} for r in REPORTS}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for report, extra in REPORTS.items():
            for variant, verb in VARIANTS.items():
                cmd = _forensics(verb[0], report, *verb[1:], *extra, "--db", str(args.db), "--json")
                times[report][variant].append(timed(cmd))
    load.append(os.getloadavg()[0])
    out = {"case": str(args.db), "rounds": args.rounds, "load_avg_1min": [round(x, 2) for x in load],
           "reports": {}}
    for report, per in times.items():
        base = statistics.median(per["report"])
        out["reports"][report] = {
            v: {"median_s": round(statistics.median(ts), 3), "min_s": round(min(ts), 3), "max_s": round(max(ts), 3),
                "vs_report": round(statistics.median(ts) / base, 2)} for v, ts in per.items()}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"case: {out['case']}  rounds: {args.rounds}  load average (1 min) {load[0]:.2f} -> {load[1]:.2f}")
        print(f"{'report':<12} {'variant':<12} {'median s':>9} {'min-max':>15} {'x report':>9}")
        for report, per in out["reports"].items():
            for variant, f in per.items():
                print(f"{report:<12} {variant:<12} {f['median_s']:>9.3f} "
                      f"{f['min_s']:>7.3f}-{f['max_s']:<7.3f} {f['vs_report']:>9.2f}")
    return out


if __name__ == "__main__":
    main()
