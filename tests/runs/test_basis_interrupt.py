"""A reconstruction killed while it stores its run (issue 13): SIGKILL or SIGINT the moment the case's write-ahead
log appears (the store has begun: the report itself runs on a read-only open), and a few milliseconds later.
The case keeps the old versions whole, holds no half run (no run without all its values, no values without
their run), and a reconstruction repeated afterwards changes no value."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from forensics.store import Case
from forensics.store import runs as store
from tests import builders as b
from tests.conftest import ROOT, case_database
from tests.inprocess import cli

T0 = 1_473_163_200.0  # 2016-09-06T12:00:00Z
ARGS = ["reconstruct", "attributes", "--param", "top=1000", "--param", "attributes=src_ip,dst_ip,dst_port",
        "--bin", "5min", "--json"]


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FORENSICS_DEBUG", None)
    return env


def _capture() -> bytes:
    """400 UDP keys over two hours: a run of 38,400 values (400 items x 24 bins x 4 measures kept)."""
    recs = []
    for i in range(6000):
        h = i % 400
        pkt = b.ipv4(f"10.0.{h // 200}.{h % 200 + 1}", f"198.51.{h % 7}.{h % 250 + 1}", 17,
                     b.udp(1000 + h, 53 + h % 30, b"x" * (20 + i % 300)))
        recs.append((T0 + 1.2 * i, b.eth(0x0800, pkt)))
    return b.pcap_file(recs)


def _state(db) -> tuple[list[tuple[int, int]], int, int]:
    """(run_id, values) per stored run, runs without values, values without a run -- after a writable open (which
    replays the write-ahead log of a killed process, and checkpoints it on close)."""
    with Case.open(str(db)) as case:
        con = case.con
        per_run = con.execute("SELECT r.run_id, count(v.run_id) FROM report_runs r LEFT JOIN report_run_values v "
                              "USING (run_id) GROUP BY ALL ORDER BY 1").fetchall()
        empty = sum(1 for _, n in per_run if n == 0)
        stray = con.execute("SELECT count(*) FROM report_run_values WHERE run_id NOT IN "
                            "(SELECT run_id FROM report_runs)").fetchone()[0]
    return per_run, empty, stray


def _kill_while_storing(db, sig: int, wal_bytes: int, after: float) -> int | None:
    """Start a reconstruction; `after` seconds past the moment its write-ahead log holds `wal_bytes` (0: exists;
    the run's values are written to it at commit, a few MB in some 20 ms), send `sig`. The exit code."""
    catalog = case_database(db)  # a lake's catalog is inside its folder
    wal = catalog.with_name(catalog.name + ".wal")
    proc = subprocess.Popen([sys.executable, "-m", "forensics", *ARGS, "--db", str(db)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=_env())
    try:
        while proc.poll() is None and not (wal.exists() and wal.stat().st_size >= wal_bytes):
            time.sleep(0.0002)
        if after:
            time.sleep(after)
        if proc.poll() is None:
            proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode


# (signal, WAL bytes, then seconds): as the store opens the case; Ctrl-C then; in the middle of the commit's
# log write (a torn log: recovery must drop the half transaction); just after the commit.
@pytest.mark.parametrize("trials", [[(signal.SIGKILL, 0, 0.0), (signal.SIGINT, 0, 0.0),
                                     (signal.SIGKILL, 200_000, 0.0), (signal.SIGKILL, 200_000, 0.05)]])
def test_killed_reconstruction_leaves_old_versions_whole_and_no_half_run(tmp_path, trials):
    cap = tmp_path / "many.pcap"
    cap.write_bytes(_capture())
    db = tmp_path / "case.duckdb"
    imp = cli("import", "--db", str(db), "-q", str(cap))  # in-process: only the killed runs need a process
    assert imp.returncode == 0, imp.stderr
    first = cli(*ARGS, "--db", str(db))
    assert first.returncode == 0 and "stored run 1" in first.stderr, first.stderr
    (base_id, values), = _state(db)[0]
    assert values > 30_000
    killed = 0
    for sig, wal_bytes, after in trials:
        rc = _kill_while_storing(db, sig, wal_bytes, after)
        killed += rc != 0
        per_run, empty, stray = _state(db)
        assert (empty, stray) == (0, 0)
        assert per_run[0] == (base_id, values)  # the old version, whole
        assert all(n == values for _, n in per_run)  # a new version is whole or absent
    assert killed, "no reconstruction was caught in the middle"
    again = cli(*ARGS, "--db", str(db))
    assert again.returncode == 0, again.stderr
    per_run, empty, stray = _state(db)
    assert (empty, stray) == (0, 0) and per_run[-1][1] == values
    with Case.open(str(db), read_only=True) as case:
        for run_id, _ in per_run[1:]:
            assert store.diff_runs(case.con, base_id, run_id) == []  # repeating changes nothing
