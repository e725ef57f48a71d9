"""Ingest benchmark: `forensics import` next to its peers, measured in the same run.

    python -m bench.ingest                        # 2M-packet capture from the project's generator (cached)
    python -m bench.ingest --pcap /tmp/bench/p2m.pcap   # e.g. the file ../shared/bench/gen_pcap.py writes
    python -m bench.ingest --packets 20000 --runs 1 --json
    python -m bench.ingest --reports              # + in-process report timings on the imported case
    python -m bench.ingest --big 10               # + flat-memory check: import a generated 10 GB capture

Each tool runs as its own process; wall time is start to exit, peak RSS is that process's ru_maxrss
(os.wait4, the same figure as `/usr/bin/time -f %M`). The median of --runs is reported.
Peers: tshark -q -z conv,ip; a dpkt loop (decode + 5-tuple dict); nfpcapd -r F -w DIR. Missing
Debian peers are installed with apt-get unless --no-install; a peer that cannot run is listed as absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.procenv import forensics_env

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "forensics-bench"
DEFAULT_PACKETS = 2_000_000
SEED = 1
FORENSICS = [sys.executable, "-c", "import sys; sys.argv[0] = 'forensics'; from forensics.cli import main; main()"]
APT_PACKAGES = {"tshark": "tshark", "nfpcapd": "nfdump"}


def _env() -> dict:
    env = forensics_env()  # bench/procenv.py: bytecode written and reused, as an installed forensics has it
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class RssSampler(threading.Thread):
    """Samples /proc/PID/status every 50 ms: peaks of anonymous and file-backed resident memory (MB).

    ru_maxrss counts file pages mapped by the process (an mmap'd capture) as well as its own memory;
    the split tells which one grew.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.peak = {"RssAnon": 0, "RssFile": 0}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                for line in self.path.read_text().splitlines():
                    key, _, value = line.partition(":")
                    if key in self.peak:
                        self.peak[key] = max(self.peak[key], int(value.split()[0]))
            except (OSError, ValueError, IndexError):
                return
            self.done.wait(0.05)


def run_measured(cmd: list[str], before=None) -> dict:
    """Run cmd once (after calling `before()`, untimed); wall seconds, peak RSS in MB, exit code, stdout."""
    if before is not None:
        before()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=_env(), cwd=ROOT)
        sampler = RssSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        sampler.done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"wall_s": wall, "rss_mb": usage.ru_maxrss / 1024, "rc": proc.returncode,
                "anon_mb": sampler.peak["RssAnon"] / 1024, "file_mb": sampler.peak["RssFile"] / 1024,
                "stdout": out.read().decode(errors="replace"), "stderr": err.read().decode(errors="replace")}


def measure(name: str, work: str, cmd: list[str], runs: int, before=None, ok_codes: tuple = (0,)) -> dict:
    """Median of `runs` runs of cmd; raises RuntimeError with the tool's stderr if it fails."""
    results = []
    for _ in range(runs):
        r = run_measured(cmd, before)
        if r["rc"] not in ok_codes:
            tail = (r["stderr"] or r["stdout"]).strip().splitlines()[-3:]
            raise RuntimeError(f"{name} exited with {r['rc']}: {' | '.join(tail)}")
        results.append(r)
    walls = [r["wall_s"] for r in results]
    return {"tool": name, "work": work, "command": " ".join(cmd), "runs": len(results),
            "wall_s": round(statistics.median(walls), 3), "wall_min_s": round(min(walls), 3),
            "wall_max_s": round(max(walls), 3),
            "peak_rss_mb": round(statistics.median(r["rss_mb"] for r in results), 1),
            "peak_anon_mb": round(statistics.median(r["anon_mb"] for r in results), 1),
            "peak_file_mb": round(statistics.median(r["file_mb"] for r in results), 1),
            "stdout": results[-1]["stdout"]}


def ensure_peer(binary: str, install: bool) -> str | None:
    """Path of a Debian peer, installing its package when absent (and allowed); None when unavailable."""
    found = shutil.which(binary)
    if found or not install:
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", APT_PACKAGES[binary]]
    if os.geteuid() != 0 and shutil.which("sudo"):
        cmd = ["sudo", "-E"] + cmd
    print(f"bench: installing {APT_PACKAGES[binary]} for {binary} ...", file=sys.stderr)
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
    if subprocess.run(cmd, **quiet).returncode != 0:  # stale or empty package lists: update once, retry
        subprocess.run(cmd[:-5] + ["apt-get", "update", "-q"], **quiet)
        subprocess.run(cmd, **quiet)
    return shutil.which(binary)


def bench_capture(packets: int, cache: Path) -> tuple[Path, bool]:
    """The cached generated capture of `packets` packets (written when missing); (path, generated now)."""
    from forensics.demo.generate import GENERATOR_VERSION, write_bench_pcap

    path = cache / f"gen-{packets}-seed{SEED}-v{GENERATOR_VERSION}.pcap"
    if path.exists():
        return path, False
    cache.mkdir(parents=True, exist_ok=True)

    tmp = path.with_suffix(".part")
    t = time.perf_counter()
    write_bench_pcap(tmp, packets, SEED)
    tmp.rename(path)
    print(f"bench: wrote {path} ({packets:,} packets) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return path, True


def _remove_db(db: Path) -> None:
    if db.is_dir():  # a lake case (FORENSICS_LAYOUT, docs/lake.md): the folder
        shutil.rmtree(db)
        return
    for p in (db, db.with_name(db.name + ".wal")):
        if p.exists():
            p.unlink()


def _db_size(db: Path) -> int:
    if db.is_dir():
        return sum(p.stat().st_size for p in db.rglob("*") if p.is_file())
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists())


def _case_counts(db: Path) -> dict:
    import duckdb

    from forensics.store import lake

    con = duckdb.connect(lake.catalog_path(db) if db.is_dir() else str(db), read_only=True)
    if db.is_dir():
        lake.set_search_path(con, db)
    try:
        packets = con.execute("SELECT coalesce(sum(packets), 0) FROM captures").fetchone()[0]
        rows = con.execute("SELECT count(*) FROM packets").fetchone()[0]
        flows = con.execute("SELECT count(*) FROM flows").fetchone()[0]
    finally:
        con.close()
    return {"packets": int(packets), "packets_rows": int(rows), "flows_rows": int(flows)}


def forensics_import(pcap: Path, db: Path, runs: int) -> dict:
    """`forensics import --quiet` into a fresh case per run."""
    cmd = FORENSICS + ["import", "--quiet", "--db", str(db), str(pcap)]
    r = measure("forensics import --quiet", "pcap -> packets + flows (DuckDB)", cmd, runs, lambda: _remove_db(db))
    r["command"] = f"forensics import --quiet --db {db} {pcap}"
    return r


def run_peers(pcap: Path, cache: Path, runs: int, install: bool, skip: set[str]) -> tuple[list[dict], list[str]]:
    """Measure the peers that are present; return (results, notes on absent or failed peers)."""
    results, notes = [], []
    nfdir = cache / "nfpcapd.out"

    def fresh_nfdir() -> None:
        shutil.rmtree(nfdir, ignore_errors=True)
        nfdir.mkdir(parents=True)

    peers = [
        ("tshark", "tshark -q -z conv,ip", "conversations",
         lambda b: [b, "-r", str(pcap), "-q", "-z", "conv,ip"], None),
        ("dpkt", "dpkt loop", "decode + 5-tuple dict", lambda b: [sys.executable, "-m", "bench.dpkt_loop", str(pcap)],
         None),
        ("nfpcapd", "nfpcapd -r F -w DIR", "pcap -> nfcapd flows", lambda b: [b, "-r", str(pcap), "-w", str(nfdir)],
         fresh_nfdir),
    ]
    for key, name, work, make, before in peers:
        if key in skip:
            continue
        binary = sys.executable if key == "dpkt" else ensure_peer(key, install)
        if binary is None:
            notes.append(f"{name}: absent ({key} not installed; apt-get install {APT_PACKAGES[key]})")
            continue
        try:
            results.append(measure(name, work, make(binary), runs, before))
        except RuntimeError as exc:
            notes.append(str(exc))
    shutil.rmtree(nfdir, ignore_errors=True)
    return results, notes


def run_reports(db: Path) -> dict:
    r = run_measured([sys.executable, "-m", "bench.reports", str(db)])
    if r["rc"] != 0:
        return {"error": (r["stderr"].strip().splitlines() or ["failed"])[-1]}
    return json.loads(r["stdout"].strip().splitlines()[-1])


def run_big(gb: float, cache: Path) -> dict:
    """Flat-memory check: generate (cached) a capture of about `gb` GB and import it once."""
    from forensics.demo.generate import GENERATOR_VERSION, write_bench_pcap

    probe = cache / f"probe-100k-v{GENERATOR_VERSION}.pcap"
    if not probe.exists():
        cache.mkdir(parents=True, exist_ok=True)
        write_bench_pcap(probe, 100_000, SEED)
    per_packet = probe.stat().st_size / 100_000
    packets = int(gb * 1e9 / per_packet)
    path = cache / f"big-{packets}-seed{SEED}-v{GENERATOR_VERSION}.pcap"
    need = int(gb * 1e9 * 1.1) + packets * 60
    free = shutil.disk_usage(cache).free
    if not path.exists():
        if free < need:
            raise SystemExit(f"bench: --big {gb}: needs about {need / 1e9:.1f} GB free in {cache}, "
                             f"has {free / 1e9:.1f} GB. Use --cache-dir on a larger disk")
        t = time.perf_counter()
        write_bench_pcap(path.with_suffix(".part"), packets, SEED)
        path.with_suffix(".part").rename(path)
        print(f"bench: wrote {path} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    db = cache / "big.duckdb"
    r = forensics_import(path, db, 1)
    counts = _case_counts(db)
    size = _db_size(db)
    _remove_db(db)
    return {"path": str(path), "size_bytes": path.stat().st_size, "packets": counts["packets"],
            "wall_s": r["wall_s"], "pps": round(counts["packets"] / r["wall_s"]), "peak_rss_mb": r["peak_rss_mb"],
            "peak_anon_mb": r["peak_anon_mb"], "peak_file_mb": r["peak_file_mb"],
            "flat_memory_ok": r["peak_rss_mb"] < 1024,
            "db_bytes_per_packet": round(size / max(1, counts["packets"]), 1)}


def render_table(doc: dict) -> str:
    cap = doc["capture"]
    lines = [f"capture: {cap['path']}  {cap['packets']:,} packets, {cap['size_bytes'] / 1e9:.2f} GB"
             f"  ({doc['machine']['cpus']} cpus, Python {doc['machine']['python']})"]
    load = doc["machine"].get("load_average_1min")
    if load:
        busy = " (not idle: every figure is lower than on an idle machine)" if load["start"] > 1.0 else ""
        lines.append(f"load average (1 min) at start {load['start']}, at end {load['end']}{busy}")
    lines.append("")
    head = (f"{'tool':<26} {'work':<34} {'wall s [min-max]':>22} {'packets/s':>11} {'peak RSS MB':>12} "
            f"{'forensics/peer':>15}")
    lines += [head, "-" * len(head)]
    for r in doc["results"]:
        span = f"{r['wall_s']:.3f} [{r['wall_min_s']:.3f}-{r['wall_max_s']:.3f}]"
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.2f}x"
        lines.append(f"{r['tool']:<26} {r['work']:<34} {span:>22} {r['pps']:>11,} {r['peak_rss_mb']:>12,.0f} "
                     f"{ratio:>15}")
    ours = doc["results"][0]
    lines += ["", f"forensics import peak resident memory, sampled every 50 ms: anonymous {ours['peak_anon_mb']:,.0f} "
              f"MB, file-backed (mapped capture, libraries) {ours['peak_file_mb']:,.0f} MB"]
    db = doc["db"]
    lines += [f"case database: {db['size_bytes']:,} bytes = {db['bytes_per_packet']:.1f} bytes/packet "
              f"(packets + flows; {db['packets_rows']:,} packet rows, {db['flows_rows']:,} flows)"]
    for note in doc["notes"]:
        lines.append(f"note: {note}")
    if "reports" in doc:
        rep = doc["reports"]
        if "error" in rep:
            lines.append(f"reports: failed: {rep['error']}")
        else:
            lines.append("reports in one process (first / median of 5, ms): " + ", ".join(
                f"{k} {v['first_s'] * 1000:.1f} / {v['median_s'] * 1000:.1f}"
                for k, v in rep.items() if isinstance(v, dict)))
    if "big" in doc:
        b = doc["big"]
        lines.append(f"big: {b['size_bytes'] / 1e9:.1f} GB, {b['packets']:,} packets: {b['wall_s']:.1f} s, "
                     f"{b['pps']:,} packets/s, peak RSS {b['peak_rss_mb']:,.0f} MB "
                     f"(sampled peaks: anon {b['peak_anon_mb']:,.0f}, file-backed {b['peak_file_mb']:,.0f}) "
                     f"({'under' if b['flat_memory_ok'] else 'OVER'} 1 GiB), {b['db_bytes_per_packet']} bytes/packet")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", type=Path, help="capture to measure (default: a generated one, cached)")
    ap.add_argument("--packets", type=int, default=DEFAULT_PACKETS, help="packets of the generated capture")
    ap.add_argument("--runs", type=int, default=3, help="runs per tool; the median is reported")
    ap.add_argument("--reports", action="store_true", help="also time top talkers and the 5-minute bps series")
    ap.add_argument("--big", type=float, metavar="GB", help="also import a generated capture of GB gigabytes once")
    ap.add_argument("--skip", default="", help="peers to leave out, comma-separated: tshark,dpkt,nfpcapd")
    ap.add_argument("--no-install", action="store_true", help="do not apt-get install missing peers")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"work folder (default {DEFAULT_CACHE})")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args(argv)

    cache = args.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    if args.pcap is not None:
        if not args.pcap.is_file():
            raise SystemExit(f"bench: {args.pcap}: no such file. Pass a pcap, or omit --pcap to generate one")
        pcap, generated = args.pcap.resolve(), False
    else:
        pcap, generated = bench_capture(args.packets, cache)
    subprocess.run(["cat", str(pcap)], stdout=subprocess.DEVNULL, check=False)  # warm the page cache

    load_start = round(os.getloadavg()[0], 2)
    db = cache / "bench.duckdb"
    ours = forensics_import(pcap, db, args.runs)
    counts = _case_counts(db)
    packets = counts["packets"]
    peers, notes = run_peers(pcap, cache, args.runs, not args.no_install, set(filter(None, args.skip.split(","))))
    results = [ours] + peers
    for r in results:
        r["pps"] = round(packets / r["wall_s"]) if r["wall_s"] > 0 else 0
        r["ratio"] = None if r is ours else round(ours["pps"] / r["pps"], 3) if r["pps"] else None
        r.pop("stdout", None)
    size = _db_size(db)
    doc = {
        "capture": {"path": str(pcap), "packets": packets, "size_bytes": pcap.stat().st_size,
                    "generated_now": generated, "seed": None if args.pcap else SEED},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_1min": {"start": load_start, "end": round(os.getloadavg()[0], 2)}},
        "results": results,
        "ratios": {r["tool"]: r["ratio"] for r in peers},
        "db": {"size_bytes": size, "bytes_per_packet": round(size / max(1, packets), 1), **counts},
        "notes": notes,
    }
    if args.reports:
        doc["reports"] = run_reports(db)
    _remove_db(db)
    if args.big:
        doc["big"] = run_big(args.big, cache)
    print(json.dumps(doc, indent=1) if args.json else render_table(doc))
    return doc


if __name__ == "__main__":
    main()
