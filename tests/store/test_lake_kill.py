"""kill -9 at random moments of an import of several files into a lake case: the catalog opens, the files
committed before the kill are whole, no part of the killed file is visible, the next import sweeps the rest."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from forensics.demo.generate import write_bench_pcap
from forensics.store import Case
from forensics.store.lake import orphans
from tests.conftest import ROOT

# Large files go in batch by batch (several parts each); small ones side by side, two at a time.
SIZES = [1_500, 40_000, 1_500, 40_000, 1_500]


def _import(files: list[Path], lake: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "forensics", "import", *map(str, files), "--db", str(lake),
                             "--quiet", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _parts(folder: Path) -> int:
    return sum(1 for p in folder.glob("*/*/*.parquet") if "capture_id=0" not in str(p))


def _reached(lake: Path, published: int) -> bool:
    """Parts of a file are staged (published == 0), or that many files' packet parts are published."""
    if published == 0:
        return any((lake / "_staging").glob("*/packets/*/*/*.parquet")) or any(
            (lake / "_staging").glob("*/_staging/*/packets/*/*/*.parquet"))  # a worker's bundle
    return _parts(lake / "packets") >= published


def _check(lake: Path, files: list[Path], sizes: dict[str, int]) -> int:
    """The case as a reader sees it after the kill; returns the number of whole files."""
    with Case.open(lake, read_only=True) as case:  # a read-only open recovers first when it must
        captures = case.con.execute("SELECT capture_id, path, packets FROM captures ORDER BY capture_id").fetchall()
        per_capture = dict(case.con.execute("SELECT capture_id, count(*) FROM packets GROUP BY 1").fetchall())
        flows = dict(case.con.execute("SELECT capture_id, sum(packets) FROM flows GROUP BY 1").fetchall())
        assert not orphans(case.con, lake)
    # committed files: a prefix of the command line, each whole (packets and the flows that count them)
    assert [p for _, p, _ in captures] == [str(f.resolve()) for f in files[:len(captures)]]
    for cid, path, packets in captures:
        assert packets == sizes[path] == per_capture.get(cid, 0) == flows.get(cid, 0)
    assert set(per_capture) <= {c for c, _, _ in captures}  # nothing of the killed file
    return len(captures)


def test_kill_9_at_random_moments_leaves_whole_files_only(tmp_path):
    files = []
    for i, n in enumerate(SIZES):
        path = tmp_path / f"in{i}.pcap"
        write_bench_pcap(path, n, seed=10 + i)
        files.append(path)
    sizes = {str(f.resolve()): n for f, n in zip(files, SIZES, strict=True)}
    lake = tmp_path / "lake"
    rng = random.Random(20261202)
    seen = set()
    # Each round waits for a point of progress (parts staged; 1, 2, 3 files published), then a random delay.
    for published in (0, 1, 2, 3):
        proc = _import(files, lake)
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline and not _reached(lake, published):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if (lake / "case.duckdb").exists():
            seen.add(_check(lake, files, sizes))
    proc = _import(files, lake)  # the next import sweeps the leftovers and completes the case
    assert proc.wait(timeout=600) == 0
    assert _check(lake, files, sizes) == len(files)
    assert not list((lake / "_staging").iterdir())
    assert len(seen) >= 2  # the kills landed at different points of the import


def _group_alive(pgid: int) -> bool:
    """Whether a live process (not a zombie) of the import's process group remains: its workers."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def test_kill_9_of_the_parent_of_worker_processes(tmp_path):
    """--jobs 2: the parent killed while workers fill their bundles and while it publishes them; the workers
    stop on their own, the case holds whole files only, the next import sweeps the bundles."""
    sizes_in = [6_000, 6_000, 6_000]
    files = []
    for i, n in enumerate(sizes_in):
        path = tmp_path / f"in{i}.pcap"
        write_bench_pcap(path, n, seed=30 + i)
        files.append(path)
    sizes = {str(f.resolve()): n for f, n in zip(files, sizes_in, strict=True)}
    lake = tmp_path / "lake"
    rng = random.Random(17)
    for published in (0, 1):
        proc = _import(files, lake, "--jobs", "2")
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline and not _reached(lake, published):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.2))
        proc.send_signal(signal.SIGKILL)  # the parent only: its workers must notice and stop
        proc.wait()
        deadline = time.monotonic() + 120
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _group_alive(proc.pid), "worker processes outlived their parent"
        if (lake / "case.duckdb").exists():
            _check(lake, files, sizes)
    proc = _import(files, lake, "--jobs", "2")
    assert proc.wait(timeout=600) == 0
    assert _check(lake, files, sizes) == len(files)
    assert not list((lake / "_staging").iterdir())
