"""Lake benchmark (issue 17), every figure a ratio measured in the same run, rounds interleaved:

    python -m bench.lake                                  # /tmp/bench/p2m.pcap, 3 rounds
    python -m bench.lake --pcap F --rounds 5 --json
    python -m bench.lake --import-only --baseline /tmp/base   # + the imports (lake, single-file) of another tree
    python -m bench.lake --import-only --gzip             # + the capture gzipped, against `gzip -dc` of it

1. import time: `forensics import` into a new lake case and into a new single-file case, against
   `openssl dgst -sha256` of the same file (the floor: an import reads and hashes every byte), and nfpcapd's;
   one round runs each tool once, in turn; medians of the rounds.
2. bytes per packet on disk: the lake's packets + flows Parquet parts (and its catalog), the single-file case.
3. reports and filters: the same reports and filtered counts on both cases, in this process, alternating
   lake / single-file, median of --repeat; the ratio lake / single-file (target <= 1.1), of wall seconds and
   of CPU seconds (this process, DuckDB's threads included: on a loaded machine the steadier figure).
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

from bench.ingest import FORENSICS, ensure_peer
from bench.procenv import forensics_env

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PCAP = Path("/tmp/bench/p2m.pcap")
REPORTS = [("top_talkers", {"top": 10, "bin": 300}), ("protocol_mix", {"bin": 300}), ("wannacry", {}),
           ("top_ports", {"top": 10, "bin": 300})]
FILTERS = ["tcp dst port 445", "net 10.1.20.0/24 and tcp", "udp port 53"]


def _tree_bytes(folder: Path, pattern: str = "**/*") -> int:
    return sum(p.stat().st_size for p in folder.glob(pattern) if p.is_file())


def _run(cmd: list[str], before=None, tree: Path = ROOT, extra_env: dict[str, str] | None = None) -> dict:
    """One run: wall seconds, CPU seconds (user + system, children included), peak RSS in MB. On a shared
    machine CPU time is the steadier figure: both are reported, ratios of each. `tree`: the source tree whose
    `forensics` runs (PYTHONPATH); `extra_env`: more environment for it."""
    if before is not None:
        before()
    # single.duckdb a file; lake/ a lake (bench/procenv.py)
    env = forensics_env(tree, FORENSICS_LAYOUT="file", **(extra_env or {}))
    t = time.perf_counter()
    # cwd is the tree too: `python -c` puts the working directory ahead of PYTHONPATH on sys.path (with cwd=ROOT
    # a --baseline run imported this tree's forensics, not the baseline's)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=tree)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} exited {rc}: {err.strip()[-300:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def gzipped(pcap: Path) -> Path:
    """The capture gzipped (`gzip -1`), written once beside it (PCAP.gz) and reused while newer than the capture."""
    packed = pcap.with_name(pcap.name + ".gz")
    if not packed.exists() or packed.stat().st_mtime < pcap.stat().st_mtime:
        tmp = packed.with_name(packed.name + ".tmp")
        with open(tmp, "wb") as out:
            subprocess.run(["gzip", "-1", "-c", str(pcap)], stdout=out, check=True)
        os.replace(tmp, packed)
    return packed


def import_rounds(pcap: Path, work: Path, rounds: int, nfpcapd: str | None, baseline: Path | None = None,
                  gzip: bool = False) -> dict:
    lake, single, nfdir = work / "lake", work / "single.duckdb", work / "nfpcapd.out"
    bare = work / "lake-no-appdata"
    base_single = work / "baseline.duckdb"

    def fresh_lake() -> None:
        shutil.rmtree(lake, ignore_errors=True)

    def fresh_bare() -> None:
        shutil.rmtree(bare, ignore_errors=True)

    def fresh_single() -> None:
        for p in (single, single.with_name(single.name + ".wal")):
            p.unlink(missing_ok=True)

    def fresh_nf() -> None:
        shutil.rmtree(nfdir, ignore_errors=True)
        nfdir.mkdir(parents=True)

    tools = {
        "openssl dgst -sha256": (["openssl", "dgst", "-sha256", str(pcap)], None),
        "forensics import (lake)": (FORENSICS + ["import", "--quiet", "--db", str(lake), str(pcap)], fresh_lake),
        "forensics import (single-file)": (FORENSICS + ["import", "--quiet", "--db", str(single), str(pcap)],
                                           fresh_single),
        # the same lake import without the application metadata pass (issue 15) and the flow labels it feeds:
        # what that pass adds to the import, in the same run
        "forensics import (lake, no appdata)": (FORENSICS + ["import", "--quiet", "--db", str(bare), str(pcap)],
                                                fresh_bare),
    }
    envs = {"forensics import (lake, no appdata)": {"FORENSICS_APPDATA": "0"}}
    if gzip:  # the same capture gzipped: its import against decompressing it (`gzip -dc`), the floor there
        packed = gzipped(pcap)
        gz_lake = work / "lake-gzip"
        tools["gzip -dc F.gz"] = (["sh", "-c", f"gzip -dc '{packed}' > /dev/null"], None)
        tools["forensics import (lake, gzipped)"] = (
            FORENSICS + ["import", "--quiet", "--db", str(gz_lake), str(packed)],
            lambda: shutil.rmtree(gz_lake, ignore_errors=True))
    trees = {}
    if baseline is not None:  # another source tree (e.g. `git archive main | tar -x -C DIR`), same run, interleaved
        def fresh_base() -> None:
            for p in (base_single, base_single.with_name(base_single.name + ".wal")):
                p.unlink(missing_ok=True)

        base_lake = work / "baseline-lake"

        def fresh_base_lake() -> None:
            shutil.rmtree(base_lake, ignore_errors=True)

        tools["baseline import (lake)"] = (
            FORENSICS + ["import", "--quiet", "--db", str(base_lake), str(pcap)], fresh_base_lake)
        trees["baseline import (lake)"] = baseline
        tools["baseline import (single-file)"] = (
            FORENSICS + ["import", "--quiet", "--db", str(base_single), str(pcap)], fresh_base)
        trees["baseline import (single-file)"] = baseline
        fresh_base()
        _run(FORENSICS + ["import", "--quiet", "--db", str(base_single), str(pcap)], None, baseline)  # its kernels
    if nfpcapd:
        tools["nfpcapd -r F -w DIR"] = ([nfpcapd, "-r", str(pcap), "-w", str(nfdir)], fresh_nf)
    runs: dict[str, list[dict]] = {k: [] for k in tools}
    for _ in range(rounds):
        for name, (cmd, before) in tools.items():
            runs[name].append(_run(cmd, before, trees.get(name, ROOT), envs.get(name)))

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    out = {name: {"wall_s": round(med(name, "wall_s"), 3), "cpu_s": round(med(name, "cpu_s"), 3),
                  "wall_runs": [round(r["wall_s"], 2) for r in runs[name]],
                  "wall_vs_sha256": round(med(name, "wall_s") / med("openssl dgst -sha256", "wall_s"), 2),
                  "cpu_vs_sha256": round(med(name, "cpu_s") / med("openssl dgst -sha256", "cpu_s"), 2),
                  "peak_rss_mb": round(med(name, "rss_mb"), 1)} for name in tools}
    shutil.rmtree(nfdir, ignore_errors=True)
    shutil.rmtree(bare, ignore_errors=True)
    base_single.unlink(missing_ok=True)
    shutil.rmtree(work / "baseline-lake", ignore_errors=True)
    shutil.rmtree(work / "lake-gzip", ignore_errors=True)
    if gzip:
        floor = med("gzip -dc F.gz", "wall_s")
        out["forensics import (lake, gzipped)"]["wall_vs_gzip_dc"] = round(
            med("forensics import (lake, gzipped)", "wall_s") / floor, 2)
    return out


def sizes(work: Path) -> dict:
    import duckdb

    lake, single = work / "lake", work / "single.duckdb"
    con = duckdb.connect(str(single), read_only=True)
    packets = con.execute("SELECT sum(packets) FROM captures").fetchone()[0]
    con.close()
    parts = {t: _tree_bytes(lake / t, "*/*/*.parquet") for t in ("packets", "flows")}
    catalog = _tree_bytes(lake, "case.duckdb*")
    single_bytes = _tree_bytes(work, "single.duckdb*")
    return {"packets": packets, "lake_packets_bytes": parts["packets"], "lake_flows_bytes": parts["flows"],
            "lake_catalog_bytes": catalog,
            "lake_bytes_per_packet": round((parts["packets"] + parts["flows"]) / packets, 2),
            "lake_bytes_per_packet_with_catalog": round((parts["packets"] + parts["flows"] + catalog) / packets, 2),
            "single_file_bytes_per_packet": round(single_bytes / packets, 2)}


def query_ratios(work: Path, repeat: int) -> dict:
    from forensics.filters import compile_filter
    from forensics.reports import run_report
    from forensics.store import Case

    cases = {"lake": Case.open(work / "lake", read_only=True),
             "single": Case.open(work / "single.duckdb", read_only=True)}
    jobs = {f"report {name}": (lambda c, n=name, p=params: run_report(c, n, dict(p))) for name, params in REPORTS}
    for expr in FILTERS:
        for table in ("packets", "flows"):
            sql, params = compile_filter(expr, table)
            jobs[f"count {table} where {expr!r}"] = (
                lambda c, s=sql, p=params, t=table: c.con.execute(f"SELECT count(*) FROM {t} WHERE {s}", p).fetchall())
    out = {}
    try:
        for label, job in jobs.items():
            times: dict[str, list[float]] = {"lake": [], "single": []}
            cpu: dict[str, list[float]] = {"lake": [], "single": []}
            answers = {}
            for _ in range(repeat):
                for kind, case in cases.items():
                    t, c = time.perf_counter(), time.process_time()
                    answers[kind] = job(case)
                    times[kind].append(time.perf_counter() - t)
                    cpu[kind].append(time.process_time() - c)
            same = repr(answers["lake"]) == repr(answers["single"]) if label.startswith("count") else None
            lake_s, single_s = statistics.median(times["lake"]), statistics.median(times["single"])
            lake_cpu, single_cpu = statistics.median(cpu["lake"]), statistics.median(cpu["single"])
            out[label] = {"lake_s": round(lake_s, 4), "single_s": round(single_s, 4),
                          "ratio": round(lake_s / single_s, 2), "lake_cpu_s": round(lake_cpu, 4),
                          "single_cpu_s": round(single_cpu, 4), "cpu_ratio": round(lake_cpu / max(single_cpu, 1e-6), 2),
                          **({"same_answer": same} if same is not None else {})}
    finally:
        for case in cases.values():
            case.close()
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", type=Path, default=DEFAULT_PCAP)
    ap.add_argument("--work", type=Path, default=Path("/tmp/lake-bench"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5, help="runs of each report / filter per case")
    ap.add_argument("--no-import", action="store_true", help="reuse the cases in --work (sizes and queries only)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--baseline", type=Path, help="also import with the forensics of this source tree (before/after)")
    ap.add_argument("--import-only", action="store_true", help="the import rounds only (no sizes, no queries)")
    ap.add_argument("--gzip", action="store_true",
                    help="also import the capture gzipped (written once beside it), against `gzip -dc` of it")
    args = ap.parse_args(argv)
    if not args.pcap.exists():
        sys.exit(f"{args.pcap}: missing; write it with ../shared/bench/gen_pcap.py --packets 2000000 --seed 1 -o F")
    args.work.mkdir(parents=True, exist_ok=True)
    doc: dict = {"pcap": str(args.pcap), "rounds": args.rounds}
    if not args.no_import:
        doc["import"] = import_rounds(args.pcap, args.work, args.rounds, ensure_peer("nfpcapd", install=False),
                                      args.baseline, args.gzip)
    if not args.import_only:
        doc["sizes"] = sizes(args.work)
        doc["queries"] = query_ratios(args.work, args.repeat)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        for name, r in doc.get("import", {}).items():
            print(f"{name:<32} wall {r['wall_s']:>7.2f} s {r['wall_vs_sha256']:>5.2f}x sha256   "
                  f"cpu {r['cpu_s']:>7.2f} s {r['cpu_vs_sha256']:>5.2f}x sha256   "
                  f"rss {r['peak_rss_mb']:.0f} MB   walls {r['wall_runs']}"
                  + (f"   {r['wall_vs_gzip_dc']:.2f}x gzip -dc" if "wall_vs_gzip_dc" in r else ""))
        if args.import_only:
            return doc
        s = doc["sizes"]
        print(f"bytes/packet: lake {s['lake_bytes_per_packet']} "
              f"(with catalog {s['lake_bytes_per_packet_with_catalog']}), "
              f"single-file {s['single_file_bytes_per_packet']}")
        for label, q in doc["queries"].items():
            print(f"{label:<52} lake {q['lake_s']:.4f} s  single {q['single_s']:.4f} s  ratio {q['ratio']:.2f}   "
                  f"cpu lake {q['lake_cpu_s']:.4f} s  single {q['single_cpu_s']:.4f} s  ratio {q['cpu_ratio']:.2f}"
                  + ("" if q.get("same_answer", True) else "  ANSWERS DIFFER"))
    return doc


if __name__ == "__main__":
    main()
