"""Benchmark: the WannaCry report and a 3-attribute top-N on DuckDB and on Spark local with 1 and 2 executor
cores, over generated flows at several sizes, in the same run.

    python -m bench.spark [--flows 1000000,10000000] [--rounds 3] [--keep DIR]

The flows come from bench/reports_nfdump.py's generator (seeded numpy, IPv4, one day) loaded into a fresh case.
Spark reads the case's Parquet export (forensics.spark.source; made once per case, timed apart as `export`).
Each size runs the three engines in interleaved rounds (duckdb, spark local[1], spark local[2], next round) so
load on a shared machine hits them alike; figures are medians. Every Spark result is compared with DuckDB's
(items and values); a difference is printed. Spark local[N] is one JVM with N task threads: the nearest a
laptop gets to N executors of one core each. Prints a table and the scaling curve (seconds per million flows
against size) per engine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.reports_nfdump import generate, load_case  # noqa: E402
from forensics.config import load_config  # noqa: E402
from forensics.reports import run_report  # noqa: E402
from forensics.store import Case  # noqa: E402

REPORTS = [("wannacry", {"period": "daily", "end": "2016-09-07T00:00:00Z"}),
           ("attributes", {"period": "daily", "end": "2016-09-07T00:00:00Z",
                           "attributes": "src_ip,dst_ip,dst_port"})]
WORKER = """
import json, sys, time
sys.path.insert(0, {root!r})
from forensics.config import load_config
from forensics.spark import spark_report
from forensics.spark.session import spark_session
from forensics.store import Case
spark = spark_session({master!r}, quiet=True)
out = {{}}
with Case.open({db!r}, read_only=True) as case:
    config = load_config(None, {db!r})
    for name, params in {reports!r}:
        t = time.perf_counter()
        r = spark_report(case, name, dict(params), config=config, spark=spark)
        out[name] = [time.perf_counter() - t, [[[i.names, i.values] for i in s.items] for s in r.sections]]
print("RESULT " + json.dumps(out))
"""


def duck_round(db: Path) -> dict:
    out = {}
    config = load_config(None, str(db))
    with Case.open(db, read_only=True) as case:
        for name, params in REPORTS:
            t = time.perf_counter()
            r = run_report(case, name, dict(params), config=config)
            out[name] = [time.perf_counter() - t, [[[i.names, i.values] for i in s.items] for s in r.sections]]
    return out


def spark_round(db: Path, master: str) -> dict:
    """One Spark round in a fresh process (a JVM per round: no cache carried between rounds)."""
    import json

    code = WORKER.format(root=str(Path(__file__).resolve().parent.parent), master=master, db=str(db),
                         reports=REPORTS)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def export_seconds(db: Path) -> float:
    from forensics.spark.source import cache_dir, export_table

    with Case.open(db, read_only=True) as case:
        t = time.perf_counter()
        export_table(case.con, "flows", cache_dir(case.con, str(db)))
        export_table(case.con, "captures", cache_dir(case.con, str(db)))
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", default="1000000,10000000", help="comma-separated sizes")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="keep the cases in this folder")
    args = ap.parse_args()
    sizes = [int(x) for x in args.flows.split(",")]
    engines = [("duckdb", None), ("spark local[1]", "local[1]"), ("spark local[2]", "local[2]")]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_spark_"))
    table = []
    for n in sizes:
        db = folder / f"flows_{n}.duckdb"
        if not db.exists():
            load_case(db, generate(n))
        exported = export_seconds(db)
        times: dict[tuple[str, str], list[float]] = {}
        reference: dict = {}
        for _ in range(args.rounds):
            for label, master in engines:
                got = duck_round(db) if master is None else spark_round(db, master)
                for name, (secs, items) in got.items():
                    times.setdefault((label, name), []).append(secs)
                    if master is None:
                        reference[name] = items
                    elif items != reference.get(name):
                        print(f"DIFFERENT: {label} {name} at {n:,} flows", file=sys.stderr)
        for (label, name), values in times.items():
            table.append((n, label, name, statistics.median(values)))
        print(f"{n:>12,} flows: Parquet export {exported:.1f} s", flush=True)
    print(f"\n{'flows':>12}  {'engine':<15} {'report':<11} {'median s':>9} {'s per M flows':>14}")
    for n, label, name, secs in table:
        print(f"{n:>12,}  {label:<15} {name:<11} {secs:>9.2f} {secs / (n / 1e6):>14.2f}")
    print("\nscaling (time at the largest size / time at the smallest, against the size ratio "
          f"{sizes[-1] / sizes[0]:.0f}x):")
    for label, _ in engines:
        for name, _ in REPORTS:
            lo = next(s for n, e, r, s in table if n == sizes[0] and e == label and r == name)
            hi = next(s for n, e, r, s in table if n == sizes[-1] and e == label and r == name)
            print(f"  {label:<15} {name:<11} {hi / lo:6.1f}x")


if __name__ == "__main__":
    main()
