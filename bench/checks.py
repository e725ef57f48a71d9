"""Checks benchmark: every built-in check over the 2M-packet bench case, next to that case's import time.

    python -m bench.checks                                # /tmp/bench/p2m.pcap (generated once if absent)
    python -m bench.checks --pcap FILE --runs 3 --json

The capture is ../shared/bench/gen_pcap.py --packets 2000000 --seed 1 (see BASELINE.md there). Both commands run
as their own process on the same file in the same run; wall time is start to exit, the median of --runs:
    forensics import --quiet --db DB FILE          (a fresh case each run)
    forensics check --quiet --db DB                (all built-in checks; alerts replaced each run; table output)
Target (issue 12): checks <= half the import's time. Per-check seconds come from one more run with --json. CPU
seconds (user + system, from wait4) are printed too: on a shared, busy machine they compare better than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.procenv import forensics_env

ROOT = Path(__file__).resolve().parent.parent
GEN = ROOT.parent / "shared" / "bench" / "gen_pcap.py"
if not GEN.exists():
    GEN = ROOT.parent.parent / "shared" / "bench" / "gen_pcap.py"  # from a worktree
DEFAULT_PCAP = Path("/tmp/bench/p2m.pcap")
FORENSICS = [sys.executable, "-c", "import sys; sys.argv[0] = 'forensics'; from forensics.cli import main; main()"]


def _env() -> dict:
    env = forensics_env()  # bench/procenv.py: bytecode written and reused, as an installed forensics has it
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds user + system of the process, stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=_env())
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd[3:])}: exit {proc.returncode}: {err.read().strip()[:500]}")
        return seconds, usage.ru_utime + usage.ru_stime, out.read()


def _span(values: list[float]) -> list[float]:
    return [round(min(values), 3), round(max(values), 3)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", type=Path, default=DEFAULT_PCAP)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.pcap.exists():
        args.pcap.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(GEN), "--packets", "2000000", "--seed", "1", "-o", str(args.pcap)],
                       check=True)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as tmp:
        db = Path(tmp) / "case.duckdb"
        imports, checks, import_cpu, checks_cpu, out = [], [], [], [], ""
        for _ in range(args.runs):
            for path in (db, db.with_name(db.name + ".wal")):
                path.unlink(missing_ok=True)
            seconds, cpu, _ = _timed([*FORENSICS, "import", "--quiet", "--db", str(db), str(args.pcap)])
            imports.append(seconds)
            import_cpu.append(cpu)
        for _ in range(args.runs):
            seconds, cpu, _ = _timed([*FORENSICS, "check", "--quiet", "--db", str(db)])
            checks.append(seconds)
            checks_cpu.append(cpu)
        out = _timed([*FORENSICS, "check", "--db", str(db), "--json"])[2]  # per-check figures (not timed)
    data = json.loads(out)["response"]["result"]["data"]
    result = {
        "pcap": str(args.pcap), "runs": args.runs, "load_average_1min": round(load, 2),
        "import_s": round(statistics.median(imports), 3), "import_range_s": _span(imports),
        "checks_s": round(statistics.median(checks), 3), "checks_range_s": _span(checks),
        "import_cpu_s": round(statistics.median(import_cpu), 3),
        "checks_cpu_s": round(statistics.median(checks_cpu), 3),
        "alerts": data["count"],
        "per_check_s": {c["name"]: c["seconds"] for c in data["checks"]},
        "per_check_alerts": {c["name"]: c["alerts"] for c in data["checks"]},
    }
    result["ratio"] = round(result["checks_s"] / result["import_s"], 3)
    result["cpu_ratio"] = round(result["checks_cpu_s"] / result["import_cpu_s"], 3)
    result["target_met"] = result["ratio"] <= 0.5
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"capture: {args.pcap}  (load average at start {load:.2f}; median of {args.runs})")
    lo, hi = result["import_range_s"]
    print(f"forensics import --quiet     {result['import_s']:.3f} s  [{lo}-{hi}]")
    lo, hi = result["checks_range_s"]
    print(f"forensics check (all)        {result['checks_s']:.3f} s  [{lo}-{hi}]  {result['alerts']} alerts")
    met = "met" if result["target_met"] else "NOT met"
    print(f"checks / import              {result['ratio']:.2f}  (target <= 0.50: {met})")
    print(f"CPU seconds (user + sys)     import {result['import_cpu_s']:.2f}, checks {result['checks_cpu_s']:.2f}: "
          f"ratio {result['cpu_ratio']:.2f}")
    for name, secs in result["per_check_s"].items():
        print(f"  {name:<20} {secs:6.3f} s  {result['per_check_alerts'][name]:>4} alerts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
