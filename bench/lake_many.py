"""Many small captures in a lake case (issue 17), before and after compaction, against the same packets as a few
large captures; every figure from the same run, rounds interleaved:

    python -m bench.lake_many --captures 1000 --packets 200 --work /tmp/compact/many1k
    python -m bench.lake_many --captures 10000 --rounds 1 --work /tmp/compact/many10k --json

1. captures: N pcaps of P packets (forensics.demo's bench traffic, seeds 1000..1000+N-1), and the same packets
   as LARGE pcaps (records concatenated: same packets, frames numbered anew);
2. import: one `forensics import DIR` of the N files into a new lake (FORENSICS_COMPACT_PARTS=0: no compaction),
   and of the large files into another; wall and CPU seconds. Then `forensics compact` on a copy of the small
   case (timed). Kept in --work between runs (delete the folder to measure again);
3. files: Parquet files and lake_parts rows of each case;
4. queries: in a fresh process per case (so nothing is cached), the open, a first query (count(*) of packets),
   four reports and a filtered count, each run once, in that order; the three cases in turn, --rounds times;
   medians, wall and CPU.

With --clone K (after a run of N captures in --work): the small case's parts hard-linked K times under new
capture ids (N*K captures, K times the packets; flow ids repeat), against its compacted copy: the query figures of
a case of N*K small captures without importing N*K files (10,000 imports take hours on a loaded 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.procenv import forensics_env

ROOT = Path(__file__).resolve().parent.parent
REPORTS = [("top_talkers", {"top": 10, "bin": 300}), ("protocol_mix", {"bin": 300}), ("wannacry", {}),
           ("top_ports", {"top": 10, "bin": 300})]
FILTER = "tcp dst port 445"
PCAP_HEADER = 24


def _env(**extra: str) -> dict:
    return forensics_env(ROOT, **extra)  # bench/procenv.py


def _timed(cmd: list[str], **extra: str) -> dict:
    """Wall and CPU seconds of one command (os.wait4: the child's own rusage)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(**extra), cwd=ROOT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} exited {os.waitstatus_to_exitcode(status)}")
    return {"wall_s": round(wall, 3), "cpu_s": round(usage.ru_utime + usage.ru_stime, 3), "stdout": out.decode()}


def make_captures(work: Path, n: int, packets: int, large: int) -> tuple[Path, Path]:
    """N small pcaps under work/small/ (in folders of 1,000) and `large` pcaps with the same records."""
    from forensics.demo.generate import write_bench_pcap

    small, big = work / "small", work / "large"
    files = []
    for i in range(n):
        path = small / f"c{i // 1000:02d}" / f"s{i:05d}.pcap"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bench_pcap(path, packets, seed=1000 + i)
        files.append(path)
    if not (work / "large.done").exists():
        shutil.rmtree(big, ignore_errors=True)
        big.mkdir(parents=True)
        per = -(-n // large)
        for k in range(large):
            chunk = files[k * per:(k + 1) * per]
            if not chunk:
                break
            with open(big / f"l{k}.pcap", "wb") as out:
                out.write(chunk[0].read_bytes()[:PCAP_HEADER])
                for path in chunk:
                    out.write(path.read_bytes()[PCAP_HEADER:])
        (work / "large.done").write_text("ok")
    return small, big


def imports(work: Path, small: Path, big: Path) -> dict:
    """Import both sets (once: kept in work/), compact a copy of the small case; timings in work/imports.json."""
    record = work / "imports.json"
    if record.exists():
        return json.loads(record.read_text())
    cases = {"large": work / "large_lake", "small": work / "small_lake", "compacted": work / "compacted_lake"}
    for folder in cases.values():
        shutil.rmtree(folder, ignore_errors=True)
    out = {}
    for name, src in (("large", big), ("small", small)):
        run = _timed([sys.executable, "-m", "forensics", "import", str(src), "--db", str(cases[name]), "--quiet",
                      "--json"], FORENSICS_COMPACT_PARTS="0")
        files = json.loads(run.pop("stdout"))["files"]
        out[f"import {name}"] = {**run, "files": len(files),
                                 "imported": sum(f["status"] == "imported" for f in files)}
    shutil.copytree(cases["small"], cases["compacted"])
    run = _timed([sys.executable, "-m", "forensics", "compact", "--db", str(cases["compacted"]), "--json"])
    counts = json.loads(run.pop("stdout"))
    out["compact"] = {**run, **counts}
    record.write_text(json.dumps(out, indent=2))
    return out


# `forensics import` as the CLI runs it, with the compaction at its end timed apart (the CLI's JSON says what it
# merged, not how long it took): maybe_compact wrapped, its wall and CPU seconds written to argv[1].
_IMPORT_TIMING_COMPACTION = r"""
import json, sys, time
import forensics.store.lake_compact as lc
out, inner = sys.argv.pop(1), lc.maybe_compact
def timed(*a, **k):
    t, c = time.perf_counter(), time.process_time()
    try:
        return inner(*a, **k)
    finally:
        with open(out, "w") as f:
            json.dump({"wall_s": round(time.perf_counter() - t, 3), "cpu_s": round(time.process_time() - c, 3)}, f)
lc.maybe_compact = timed
from forensics.cli import main
sys.argv[0] = "forensics"
main()
"""


def import_compacting(work: Path, small: Path, big: Path) -> dict:
    """--import-compacts: `forensics import` of the N files as a user runs it (default --jobs, the compaction
    at its end included, timed apart) into work/small_lake, and of the large files into work/large_lake (once:
    timings in work/imports.json)."""
    record = work / "imports.json"
    if record.exists():
        return json.loads(record.read_text())
    out = {}
    for name, src in (("small", small), ("large", big)):
        lake = work / f"{name}_lake"
        shutil.rmtree(lake, ignore_errors=True)
        timing = work / f"compaction-{name}.json"
        timing.unlink(missing_ok=True)
        load = os.getloadavg()
        run = _timed([sys.executable, "-c", _IMPORT_TIMING_COMPACTION, str(timing), "import", str(src), "--db",
                      str(lake), "--quiet", "--json"])
        text = run.pop("stdout")
        junk, start = text[:text.find("{")], text.find("{")  # DuckDB's progress bar goes to stdout, piped or not
        got = json.loads(text[start:])
        files = got["files"]
        out[f"import {name}"] = {**run, "files": len(files), "load_before": load, "load_after": os.getloadavg(),
                                 "imported": sum(f["status"] == "imported" for f in files),
                                 "compaction": got.get("compaction"),
                                 "compaction_s": json.loads(timing.read_text()) if timing.exists() else None,
                                 "stdout_before_json": junk[-200:]}
    record.write_text(json.dumps(out, indent=2))
    return out


def files(lake: Path) -> dict:
    parquet = [p for p in lake.rglob("*.parquet") if "_staging" not in p.parts]
    import duckdb

    con = duckdb.connect(str(lake / "case.duckdb"), read_only=True)
    try:
        parts = con.execute("SELECT count(*) FROM lake_parts").fetchone()[0]
    finally:
        con.close()
    return {"parquet_files": len(parquet), "lake_parts": parts,
            "parquet_mb": round(sum(p.stat().st_size for p in parquet) / 1e6, 1)}


# One process per measurement: the case opened cold, each query once (the first query reads every footer).
_CHILD = r"""
import json, sys, time, resource
from forensics.store import Case
from forensics.reports import run_report
from forensics.filters import compile_filter
reports, flt = json.loads(sys.argv[2]), sys.argv[3]
out = {}
def clock(label, fn):
    t, c = time.perf_counter(), time.process_time()
    result = fn()
    out[label] = {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c}
    return result
case = clock("open", lambda: Case.open(sys.argv[1], read_only=True))
case.con.execute("SET enable_progress_bar = false")  # DuckDB's bar on stdout for queries over 2 s
out["packets"] = clock("first query: count(*) packets",
                       lambda: case.con.execute("SELECT count(*) FROM packets").fetchone()[0])
for name, params in reports:
    clock(f"report {name}", lambda: run_report(case, name, dict(params)))
sql, params = compile_filter(flt, "packets")
out["filtered"] = clock(f"count packets where {flt!r}",
                        lambda: case.con.execute(f"SELECT count(*) FROM packets WHERE {sql}", params).fetchone()[0])
clock("count flows", lambda: case.con.execute("SELECT count(*) FROM flows").fetchone()[0])
case.close()
print(json.dumps(out))
"""


def queries(cases: dict[str, Path], rounds: int, base: str = "large", reports: int = len(REPORTS)) -> dict:
    samples: dict[str, dict[str, list[dict]]] = {name: {} for name in cases}
    answers: dict[str, tuple] = {}
    for _ in range(rounds):
        for name, lake in cases.items():
            run = _timed([sys.executable, "-c", _CHILD, str(lake), json.dumps(REPORTS[:reports]), FILTER])
            got = json.loads(run["stdout"].strip().splitlines()[-1])
            answers[name] = (got.pop("packets"), got.pop("filtered"))
            for label, t in got.items():
                samples[name].setdefault(label, []).append(t)
    if len(set(answers.values())) != 1:
        raise RuntimeError(f"the cases disagree: {answers}")
    out = {}
    for label in samples[base]:
        row = {}
        for name in cases:
            row[f"{name}_s"] = round(statistics.median(t["wall_s"] for t in samples[name][label]), 3)
            row[f"{name}_cpu_s"] = round(statistics.median(t["cpu_s"] for t in samples[name][label]), 3)
        out[label] = row
    out["answers (packets, filtered)"] = answers[base]
    return out


def _link_parts(src: str, dst: str) -> None:
    """copytree's copy: Parquet parts hard-linked (never changed once written), the catalog and the rest copied."""
    if src.endswith(".parquet"):
        os.link(src, dst)
    else:
        shutil.copy2(src, dst)


def clone(work: Path, times: int) -> dict[str, Path]:
    """work/clone<K>_lake: the small case with its captures repeated K times (parts hard-linked), and its
    compacted copy work/clone<K>_compacted; compaction timings in work/clone<K>.json."""
    import duckdb

    src, dst = work / "small_lake", work / f"clone{times}_lake"
    done, compacted = work / f"clone{times}.json", work / f"clone{times}_compacted"
    if not done.exists():
        shutil.rmtree(dst, ignore_errors=True)
        shutil.rmtree(compacted, ignore_errors=True)
        shutil.copytree(src, dst, copy_function=_link_parts)
        con = duckdb.connect(str(dst / "case.duckdb"))
        n = con.execute("SELECT max(capture_id) FROM captures").fetchone()[0]
        parts = con.execute("SELECT path, capture_id FROM lake_parts WHERE capture_id <> 0").fetchall()
        for j in range(1, times):
            k = j * n
            for rel, cid in parts:
                new = rel.replace(f"capture_id={cid}/", f"capture_id={cid + k}/")
                (dst / new).parent.mkdir(parents=True, exist_ok=True)
                os.link(dst / rel, dst / new)
            con.execute("INSERT INTO lake_parts SELECT * REPLACE (replace(path, 'capture_id=' || capture_id || '/', "
                        "'capture_id=' || (capture_id + $k) || '/') AS path, capture_id + $k AS capture_id) "
                        "FROM lake_parts WHERE capture_id BETWEEN 1 AND $n", {"k": k, "n": n})
            con.execute("INSERT INTO captures SELECT * REPLACE (capture_id + $k AS capture_id, sha256 || '-' || $j "
                        "AS sha256, path || '#' || $j AS path) FROM captures WHERE capture_id <= $n",
                        {"k": k, "j": j, "n": n})
            con.execute("INSERT INTO interfaces SELECT * REPLACE (capture_id + $k AS capture_id) FROM interfaces "
                        "WHERE capture_id <= $n", {"k": k, "n": n})
        con.close()
        from forensics.store import Case

        Case.open(dst).close()  # a write-open: views rebuilt for this folder (not timed below)
        shutil.copytree(dst, compacted, copy_function=_link_parts)
        run = _timed([sys.executable, "-m", "forensics", "compact", "--db", str(compacted), "--json"])
        counts = json.loads(run.pop("stdout"))
        done.write_text(json.dumps({"compact": {**run, **counts}}, indent=2))
    return {"small": dst, "compacted": compacted}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--captures", type=int, default=1000)
    ap.add_argument("--packets", type=int, default=200, help="packets per small capture")
    ap.add_argument("--large", type=int, default=4, help="large captures holding the same packets")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/compact/many"))
    ap.add_argument("--reports", type=int, default=len(REPORTS), help="run the first N of the four reports")
    ap.add_argument("--clone", type=int, default=0, help="measure the small case repeated K times instead")
    ap.add_argument("--import-compacts", action="store_true",
                    help="import the small files as a user does (compaction at the end of the import, timed apart) "
                         "and compare that case with the large one; no uncompacted copy")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.clone:
        cases = clone(args.work, args.clone)
        result = {"captures": f"{args.captures} x {args.clone}", "packets_each": args.packets,
                  "large_captures": "-", "rounds": args.rounds, "load_average": os.getloadavg(),
                  "imports": json.loads((args.work / f"clone{args.clone}.json").read_text()),
                  "files": {name: files(lake) for name, lake in cases.items()},
                  "queries": queries(cases, args.rounds, base="small", reports=args.reports)}
        print(json.dumps(result, indent=2) if args.json else _table(result))
        return result
    small, big = make_captures(args.work, args.captures, args.packets, args.large)
    result: dict = {"captures": args.captures, "packets_each": args.packets, "large_captures": args.large,
                    "rounds": args.rounds, "load_average": os.getloadavg()}
    if args.import_compacts:
        result["imports"] = import_compacting(args.work, small, big)
        cases = {"large": args.work / "large_lake", "small": args.work / "small_lake"}
    else:
        result["imports"] = imports(args.work, small, big)
        cases = {"large": args.work / "large_lake", "small": args.work / "small_lake",
                 "compacted": args.work / "compacted_lake"}
    result["files"] = {name: files(lake) for name, lake in cases.items()}
    result["queries"] = queries(cases, args.rounds, reports=args.reports)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    return result


def _table(result: dict) -> str:
    lines = [f"{result['captures']} captures of {result['packets_each']} packets; {result['large_captures']} large "
             f"captures of the same packets; medians of {result['rounds']} rounds; load {result['load_average']}"]
    for label, t in result["imports"].items():
        lines.append(f"{label}: {t['wall_s']} s wall, {t['cpu_s']} s CPU")
        if t.get("compaction_s"):
            c = t["compaction_s"]
            lines.append(f"  of which the compaction at its end: {c['wall_s']} s wall, {c['cpu_s']} s CPU "
                         f"({t.get('compaction')})")
    for name, f in result["files"].items():
        lines.append(f"{name}: {f['parquet_files']:,} Parquet files, {f['lake_parts']:,} lake_parts rows, "
                     f"{f['parquet_mb']} MB")
    names = list(result["files"])
    base = names[0]
    lines.append("| seconds wall (CPU) | " + " | ".join(names) + " | " +
                 " | ".join(f"{n} / {base}" for n in names[1:]) + " |")
    lines.append("|---" * (2 * len(names)) + "|")
    for label, t in result["queries"].items():
        if not isinstance(t, dict):
            continue
        cells = [f"{t[n + '_s']} ({t[n + '_cpu_s']})" for n in names]
        ratios = [f"{t[n + '_s'] / max(t[base + '_s'], 1e-6):.2f}" for n in names[1:]]
        lines.append(f"| {label} | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
