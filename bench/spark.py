"""Benchmark: loading generated flows into a lake case, then the WannaCry report and a 3-attribute top-N on
DuckDB and on Spark local with 1 and 2 executor cores, at several sizes, in the same run.

    python -m bench.spark [--flows 10000000,100000000] [--rounds 3,1] [--keep DIR] [--generate-only]
                          [--parts import,reports] [--import-rounds N] [--per-file 1000000] [--kernel]

The flows come from bench/reports_nfdump.py's generator (seeded numpy, IPv4, one day), generated and written in
chunks of --chunk flows (memory stays flat at any size: one chunk at a time) as Parquet parts of a lake case
(docs/lake.md) through the store's own staging and publishing (forensics.store.lake.Stage), one transaction per
chunk: the `lake load` line is that load (generation + Parquet encoding + catalog), timed with CPU seconds.

The `import` rows (--parts import): the same generator writes NetFlow v5 export datagrams (30 records each)
concatenated into files of --per-file flows -- the `netflow-raw` flow files the readers take -- and each round
runs `forensics import --quiet` of those files into a new lake, locally (the default engine) and with
`--engine spark --spark-master local[N]` (one Spark task per file), each its own process; the lakes are compared
(row count, byte total, an order-free hash of the imported columns).
`--layout file` loads a single-file case instead, which Spark reads through its Parquet export (timed apart).

On a lake Spark reads the flow parts themselves (forensics.spark.source.parquet_paths: the files lake_parts
lists, no export). Each size runs the three engines in interleaved rounds (duckdb, spark local[1], spark
local[2], next round) so load on a shared machine hits them alike; figures are medians. A Spark round is a fresh
process (a JVM per round, its start-up timed apart and not in the report figures). CPU seconds: DuckDB's
process; for Spark the JVM's and the worker's (from /proc). Every Spark result is compared with DuckDB's
(items and values); a difference is printed. Spark local[N] is one JVM with N task threads: the nearest a
machine gets to N executors of one core each. Prints a table and the scaling curve (seconds per million flows
against size) per engine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.procenv import forensics_env  # noqa: E402
from bench.reports_nfdump import BASE, generate, load_case, netflow_v5  # noqa: E402
from forensics.config import load_config  # noqa: E402
from forensics.ingest import case_home  # noqa: E402
from forensics.reports import run_report  # noqa: E402
from forensics.store import Case  # noqa: E402
from forensics.store.home_bits import home_fingerprint, with_home_bits  # noqa: E402
from forensics.store.lake import Stage  # noqa: E402
from forensics.store.lake_layout import SCHEMAS  # noqa: E402

REPORTS = [("wannacry", {"period": "daily", "end": "2016-09-07T00:00:00Z"}),
           ("attributes", {"period": "daily", "end": "2016-09-07T00:00:00Z",
                           "attributes": "src_ip,dst_ip,dst_port"})]
MAPPED = 0xFFFF00000000  # IPv4-mapped: the low 64 bits of ::ffff:a.b.c.d are MAPPED + the 32-bit address
WORKER = """
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from forensics.config import load_config
from forensics.spark import spark_report
from forensics.spark.session import spark_session
from forensics.store import Case
spark = spark_session({master!r}, quiet=True)
jvm = spark._jvm.java.lang.ProcessHandle.current().pid()
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    with open(f"/proc/{{jvm}}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (int(fields[11]) + int(fields[12])) / tick + ru.ru_utime + ru.ru_stime
out = {{"_start": [time.perf_counter() - t0, cpu(), None]}}
with Case.open({db!r}, read_only=True) as case:
    config = load_config(None, {db!r})
    for name, params in {reports!r}:
        t, c = time.perf_counter(), cpu()
        r = spark_report(case, name, dict(params), config=config, spark=spark)
        out[name] = [time.perf_counter() - t, cpu() - c,
                     [[[i.names, i.values] for i in s.items] for s in r.sections]]
print("RESULT " + json.dumps(out))
"""


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def lake_flow_table(f: dict[str, np.ndarray], first_id: int) -> pa.Table:
    """Generated flows (reports_nfdump.generate) as a lake flows part without its home bits (the columns
    load_case inserts; the rest NULL), flow ids from first_id."""
    n = len(f["src"])
    schema = SCHEMAS["flows"]
    start_us = (f["start"].astype(np.int64) + BASE) * 1_000_000
    cols = {
        "flow_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
        "source": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array(["netflow_v5"])).cast(
            pa.string()),
        "first_ts": pa.array(start_us).cast(pa.timestamp("us")),
        "last_ts": pa.array(start_us + 1_000_000).cast(pa.timestamp("us")),
        "ip_version": pa.array(np.full(n, 4, np.uint8)),
        "src_ip_hi": pa.array(np.zeros(n, np.uint64)), "src_ip_lo": pa.array(f["src"].astype(np.uint64) + MAPPED),
        "dst_ip_hi": pa.array(np.zeros(n, np.uint64)), "dst_ip_lo": pa.array(f["dst"].astype(np.uint64) + MAPPED),
        "ip_proto": pa.array(f["proto"]), "src_port": pa.array(f["sport"]), "dst_port": pa.array(f["dport"]),
        "out_if": pa.array(f["out_if"].astype(np.uint32)),
        "packets": pa.array(f["packets"].astype(np.uint64)), "bytes": pa.array(f["bytes"].astype(np.uint64)),
        "sampling_rate": pa.array(np.ones(n, np.uint32)),
        "packets_scaled": pa.array(f["packets"].astype(np.uint64)),
        "bytes_scaled": pa.array(f["bytes"].astype(np.uint64)),
    }
    # without src_home/dst_home: load_lake appends them from the case's home blocks (with_home_bits)
    names = [name for name in schema.names if name not in ("src_home", "dst_home")]
    return pa.table([cols[name] if name in cols else pa.nulls(n, schema.field(name).type) for name in names],
                    schema=pa.schema([schema.field(name) for name in names]))


def load_lake(root: Path, n: int, chunk: int) -> tuple[float, float]:
    """n generated flows into a new lake case at root, chunk by chunk (chunk k seeded 1 + k: the first chunk is
    reports_nfdump.generate(chunk)); (wall, CPU) seconds."""
    t, c = time.perf_counter(), _cpu()
    with Case.open(root) as case:
        con = case.con
        con.execute("INSERT INTO captures (capture_id, path, sha256, size_bytes, format, importer_version, "
                    "imported_at) VALUES (1, 'bench', 'bench', 0, 'generated', 'bench', now()::TIMESTAMP)")
        # each flow's home bits from the case config, as an import writes them (forensics/store/home_bits.py)
        home = case_home(case)
        if home is not None:
            con.execute("INSERT INTO flow_home_bits VALUES (1, $fp)", {"fp": home_fingerprint(home)})
        for k, lo in enumerate(range(0, n, chunk)):
            table = with_home_bits(lake_flow_table(generate(min(chunk, n - lo), seed=1 + k), lo + 1), home)
            con.execute("BEGIN TRANSACTION")
            stage = Stage(case.lake_root, con)
            stage.home = home  # (the 5-minute rollups of large parts are written under the same blocks)
            try:
                stage.write_flows(1, table)
                stage.publish()
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                stage.discard()
                raise
            stage.cleanup()
            del table
            print(f"  {min(lo + chunk, n):,} / {n:,} flows written", file=sys.stderr, flush=True)
    return time.perf_counter() - t, _cpu() - c


def duck_round(db: Path) -> dict:
    out = {}
    config = load_config(None, str(db))
    with Case.open(db, read_only=True) as case:
        for name, params in REPORTS:
            t, c = time.perf_counter(), _cpu()
            r = run_report(case, name, dict(params), config=config)
            out[name] = [time.perf_counter() - t, _cpu() - c,
                         [[[i.names, i.values] for i in s.items] for s in r.sections]]
            print(f"    duckdb {name}: {out[name][0]:.1f} s ({out[name][1]:.1f} s CPU)", file=sys.stderr, flush=True)
    return out


def spark_round(db: Path, master: str) -> dict:
    """One Spark round in a fresh process (a JVM per round: no cache carried between rounds)."""
    code = WORKER.format(root=str(Path(__file__).resolve().parent.parent), master=master, db=str(db),
                         reports=REPORTS)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        log = Path(tempfile.gettempdir()) / f"bench-spark-{os.getpid()}.log"
        log.write_text(done.stderr)
        first = next((x for x in done.stderr.splitlines() if re.search(r"(Error|Exception)\b", x)), "")
        raise SystemExit(f"spark {master} on {db} failed: {first[:500]}\n(full stderr: {log})")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


# The proportional part of the attributes report: one scan of the flows and one hash aggregation on the
# report's key (src, dst, dst_port), top 10 by bytes -- on a few M flows a whole report on Spark is mostly
# fixed cost (about ten statements of several stages each), this is one job. It reads the case's `flows` as the
# reports do: on Spark the view forensics.spark.source.read_table makes (addresses as 16-byte BINARY, counters
# BIGINT), on DuckDB the case's own view.
KERNEL = ("SELECT src_ip, dst_ip, dst_port, sum(bytes) AS b FROM flows "
          "GROUP BY ALL ORDER BY b DESC LIMIT 10")
KERNEL_WORKER = """
import os, sys, time
sys.path.insert(0, {root!r})
from forensics.spark.session import spark_session
from forensics.spark.source import read_table
from forensics.store import Case
spark = spark_session({master!r}, quiet=True)
jvm = spark._jvm.java.lang.ProcessHandle.current().pid()
def cpu():
    with open(f"/proc/{{jvm}}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
with Case.open({db!r}, read_only=True) as case:
    read_table(spark, case.con, {db!r}, "flows").createOrReplaceTempView("flows")
t, c = time.perf_counter(), cpu()
rows = spark.sql({sql!r}).collect()
print("RESULT", time.perf_counter() - t, cpu() - c, sorted((int(r.b) for r in rows)))
"""


def kernel(db: Path, master: str | None) -> tuple[float, float, list]:
    """(wall, CPU, top byte sums) of KERNEL over the case's flows: DuckDB or Spark `master`."""
    if master is None:
        with Case.open(db, read_only=True) as case:
            t, c = time.perf_counter(), _cpu()
            rows = case.con.execute(KERNEL).fetchall()
            return time.perf_counter() - t, _cpu() - c, sorted(int(r[-1]) for r in rows)
    code = KERNEL_WORKER.format(root=str(Path(__file__).resolve().parent.parent), master=master, db=str(db),
                                sql=KERNEL)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"spark {master} kernel failed:\n{done.stderr[-3000:]}")
    _, secs, cpu_secs, top = line.split(" ", 3)
    return float(secs), float(cpu_secs), json.loads(top)


# ---- import: the same generated flow files, `forensics import` locally and with --engine spark --------------

def write_raw_files(folder: Path, n: int, per_file: int) -> list[Path]:
    """n generated flows (reports_nfdump.generate, file k seeded 1 + k) as NetFlow v5 export datagrams
    concatenated in files of per_file flows: the `netflow-raw` flow files `forensics import` reads
    (forensics/readers/flowfiles.py), 30 records a datagram as exporters send them."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for k, lo in enumerate(range(0, n, per_file)):
        path = folder / f"export_{k:04d}.nf5"
        files.append(path)
        if path.exists():
            continue
        f = generate(min(per_file, n - lo), seed=1 + k)
        m = len(f["src"])
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as out:
            for j in range(0, m, 30):
                out.write(netflow_v5(f, j, min(j + 30, m), lo + j))
        os.replace(tmp, path)
    return files


def _tree_cpu(root: int, seen: dict[int, float]) -> None:
    """Record the CPU seconds (own user + system) of root and every descendant now alive into seen."""
    tick = os.sysconf("SC_CLK_TCK")
    kids: dict[int, list[int]] = {}
    stats: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kids.setdefault(int(fields[1]), []).append(int(entry))
        stats[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            seen[pid] = max(seen.get(pid, 0.0), stats[pid])
        todo += kids.get(pid, [])


def timed_import(db: Path, files: list[Path], master: str | None) -> tuple[float, float]:
    """`forensics import` of files into a new lake at db, in its own process; (wall, CPU) seconds. CPU: the
    process tree (the CLI, the JVM, Spark's Python workers) sampled from /proc every 0.2 s, each process's last
    reading summed (up to 0.2 s of each is missed)."""
    shutil.rmtree(db, ignore_errors=True)
    cmd = [sys.executable, "-m", "forensics", "import", "--quiet", "--db", str(db), *map(str, files)]
    if master is not None:
        cmd += ["--engine", "spark", "--spark-master", master]
    env = forensics_env(Path(__file__).resolve().parent.parent)  # bench/procenv.py
    seen: dict[int, float] = {}
    t = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        while proc.poll() is None:
            _tree_cpu(proc.pid, seen)
            time.sleep(0.2)
        wall = time.perf_counter() - t
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"import {'local' if master is None else master} failed:\n{err.read()[-3000:]}")
    return wall, sum(seen.values())


LAKE_DIGEST = ("SELECT count(*), sum(bytes), sum(hash(flow_id, first_ts, last_ts, src_ip, dst_ip, src_port, "
               "dst_port, ip_proto, packets, bytes, out_if)) FROM flows")


def lake_digest(db: Path) -> tuple:
    """Row count, byte total and an order-free hash of every flow's columns that the import fills."""
    with Case.open(db, read_only=True) as case:
        return tuple(int(x) for x in case.con.execute(LAKE_DIGEST).fetchone())


def lake_rows(db: Path) -> int:
    """The flows a lake's catalog lists (0 without a catalog): a killed load leaves the chunks it committed."""
    if not (db / "case.duckdb").exists():
        return 0
    con = duckdb.connect(str(db / "case.duckdb"), read_only=True)
    try:
        return int(con.execute("SELECT coalesce(sum(rows), 0) FROM lake_parts WHERE table_name = 'flows'")
                   .fetchone()[0])
    finally:
        con.close()


def import_bench(folder: Path, n: int, per_file: int, rounds: int, engines: list) -> list[tuple]:
    """Interleaved rounds of the local import and the Spark imports of the same files; rows for the table."""
    t, c = time.perf_counter(), _cpu()
    files = write_raw_files(folder / f"netflow_{n}", n, per_file)
    size = sum(p.stat().st_size for p in files)
    print(f"{n:>12,} flows: {len(files)} netflow-raw files, {size / 1e6:,.0f} MB "
          f"(written in {time.perf_counter() - t:.1f} s, {_cpu() - c:.1f} s CPU)", flush=True)
    times: dict[str, list[tuple[float, float]]] = {}
    reference = None
    for r in range(rounds):
        for label, master in engines:
            label = "import" if master is None else f"import {label.split()[-1]}"
            db = folder / f"imported_{n}_{'local' if master is None else master.strip('[]').replace('[', '')}"
            secs, cpu_secs = timed_import(db, files, master)
            digest = lake_digest(db)
            times.setdefault(label, []).append((secs, cpu_secs))
            if master is None:
                reference = digest
            same = "" if reference is None or digest == reference else f"  DIFFERENT lake: {digest} vs {reference}"
            print(f"  {n:,} round {r + 1} {label}: {secs:.1f} s ({cpu_secs:.1f} s CPU), {digest[0]:,} flows{same}",
                  file=sys.stderr, flush=True)
            shutil.rmtree(db, ignore_errors=True)
    return [(n, label.replace("import", "duckdb", 1) if label == "import" else f"spark {label.split()[-1]}",
             "import", statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals), len(vals))
            for label, vals in times.items()]


def export_seconds(db: Path) -> float:
    from forensics.spark.source import cache_dir, export_table

    with Case.open(db, read_only=True) as case:
        t = time.perf_counter()
        export_table(case.con, "flows", cache_dir(case.con, str(db)))
        export_table(case.con, "captures", cache_dir(case.con, str(db)))
        return time.perf_counter() - t


def lake_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "flows").rglob("*.parquet"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", default="10000000,100000000", help="comma-separated sizes")
    ap.add_argument("--rounds", default="3", help="rounds, one number or one per size (e.g. 3,1)")
    ap.add_argument("--chunk", type=int, default=5_000_000, help="flows generated and written at a time")
    ap.add_argument("--layout", choices=("lake", "file"), default="lake")
    ap.add_argument("--engines", default="duckdb,local[1],local[2]")
    ap.add_argument("--reports", default="wannacry,attributes", help="which of the two reports to time")
    ap.add_argument("--keep", type=Path, default=None, help="keep the cases in this folder (reused when there)")
    ap.add_argument("--generate-only", action="store_true", help="build the cases and stop")
    ap.add_argument("--kernel", action="store_true",
                    help="time only KERNEL (one scan + aggregation, no report) on each engine")
    ap.add_argument("--parts", default="import,reports",
                    help="import (forensics import of generated netflow-raw files, local vs --engine spark) "
                         "and/or reports (the two reports on the generated lake)")
    ap.add_argument("--import-rounds", default=None, help="rounds of the import, one number or one per size "
                    "(default: --rounds)")
    ap.add_argument("--per-file", type=int, default=1_000_000, help="flows per generated netflow-raw file")
    args = ap.parse_args()
    sizes = [int(x) for x in args.flows.split(",")]
    REPORTS[:] = [r for r in REPORTS if r[0] in args.reports.split(",")]
    rounds = [int(x) for x in args.rounds.split(",")]
    rounds = rounds + [rounds[-1]] * (len(sizes) - len(rounds))
    engines = [("duckdb" if e == "duckdb" else f"spark {e}", None if e == "duckdb" else e)
               for e in args.engines.split(",")]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_spark_"))
    folder.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    import_rounds = [int(x) for x in (args.import_rounds or args.rounds).split(",")]
    import_rounds = import_rounds + [import_rounds[-1]] * (len(sizes) - len(import_rounds))
    table = []
    loads = {}
    for n, n_rounds, n_import in zip(sizes, rounds, import_rounds, strict=True):
        if "import" in parts and not (args.generate_only or args.kernel):
            table += import_bench(folder, n, args.per_file, n_import, engines)
        if "reports" not in parts and not (args.generate_only or args.kernel):
            continue
        if args.layout == "lake":
            db = folder / f"flows_{n}"
            if lake_rows(db) != n:  # none yet, or a load killed half-way (chunks commit one at a time): again
                shutil.rmtree(db, ignore_errors=True)
                loads[n] = load_lake(db, n, args.chunk)
                print(f"{n:>12,} flows: lake load {loads[n][0]:.1f} s wall, {loads[n][1]:.1f} s CPU; "
                      f"{lake_bytes(db) / n:.2f} bytes/flow on the lake", flush=True)
            else:
                print(f"{n:>12,} flows: reusing {db} ({lake_bytes(db) / n:.2f} bytes/flow)", flush=True)
        else:
            db = folder / f"flows_{n}.duckdb"
            if not db.exists():
                load_case(db, generate(n))
            print(f"{n:>12,} flows: Parquet export {export_seconds(db):.1f} s", flush=True)
        if args.generate_only:
            continue
        if args.kernel:
            ref = None
            for label, master in engines:
                secs, cpu_secs, top = kernel(db, master)
                ref = top if ref is None else ref
                print(f"{n:>12,}  kernel  {label:<15} {secs:>8.1f} s wall {cpu_secs:>8.1f} s CPU "
                      f"{cpu_secs / (n / 1e6):>7.3f} CPU s per M flows{'' if top == ref else '  DIFFERENT'}",
                      flush=True)
            continue
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        reference: dict = {}
        for r in range(n_rounds):
            for label, master in engines:
                got = duck_round(db) if master is None else spark_round(db, master)
                for name, (secs, cpu_secs, items) in got.items():
                    times.setdefault((label, name), []).append((secs, cpu_secs))
                    if name == "_start":
                        continue
                    if master is None:
                        reference[name] = items
                    elif name in reference and items != reference[name]:
                        print(f"DIFFERENT: {label} {name} at {n:,} flows", file=sys.stderr)
                print(f"  {n:,} round {r + 1} {label}: " + ", ".join(
                    f"{name} {v[0]:.1f} s" + ("" if name == "_start" else f" ({v[1]:.1f} s CPU)")
                    for name, v in got.items()), file=sys.stderr, flush=True)
        for (label, name), values in times.items():
            table.append((n, label, name, statistics.median(v[0] for v in values),
                          None if values[0][1] is None else statistics.median(v[1] for v in values), len(values)))
    if args.generate_only or args.kernel:
        return
    print(f"\nload average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus")
    print(f"\n{'flows':>12}  {'engine':<15} {'report':<11} {'rounds':>6} {'median s':>9} {'CPU s':>7} "
          f"{'s per M flows':>14} {'CPU s per M':>12}")
    for n, label, name, secs, cpu_secs, k in table:
        if name == "_start":
            print(f"{n:>12,}  {label:<15} {'(JVM start)':<11} {k:>6} {secs:>9.2f}")
            continue
        print(f"{n:>12,}  {label:<15} {name:<11} {k:>6} {secs:>9.2f} {cpu_secs:>7.1f} {secs / (n / 1e6):>14.3f} "
              f"{cpu_secs / (n / 1e6):>12.3f}")
    if len(sizes) > 1:
        print("\nscaling (time at the largest size / time at the smallest, against the size ratio "
              f"{sizes[-1] / sizes[0]:.0f}x):")
        for label, _ in engines:
            for name in ["import"] + [r[0] for r in REPORTS]:
                lo = next((s for n, e, r, s, *_ in table if n == sizes[0] and e == label and r == name), None)
                hi = next((s for n, e, r, s, *_ in table if n == sizes[-1] and e == label and r == name), None)
                if lo and hi:
                    print(f"  {label:<15} {name:<11} {hi / lo:6.1f}x")


if __name__ == "__main__":
    main()
