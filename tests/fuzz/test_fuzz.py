"""Fuzz: 150 seeded mutants (FORENSICS_FUZZ_COUNT) of corpus files (pcap, pcapng, NetFlow v5/v9, IPFIX, sFlow, gzip,
bare export datagrams), each imported in a child process. Every one must end with exit code 0, 1 or 2
and a one-line message, never an escaped exception; the children stay under 1 GiB; a truncated capture
keeps exactly the whole records before the cut. Every mutant that ever failed is kept in
tests/fuzz/regressions/ and imported again here.

FORENSICS_FUZZ_SEED picks another set of mutants (the default is fixed, so a failure reproduces);
`python -m tests.fuzz.run --seed N --count 3000 --save` is the larger campaign outside the suite.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.mutate import mutants, whole_before
from tests.fuzz.run import MAX_RSS_KB, REGRESSIONS, ROOT, problems, run_files, run_mutants

SEED = int(os.environ.get("FORENSICS_FUZZ_SEED", "20261202"))
# The suite's share; FORENSICS_FUZZ_COUNT=300 (or more) is the longer run (bench/README.md).
COUNT = int(os.environ.get("FORENSICS_FUZZ_COUNT", "150"))


def test_mutants_are_handled(tmp_path, monkeypatch):
    monkeypatch.setenv("FUZZ_FILE_TIMEOUT", "60")
    ms = mutants(SEED, COUNT)
    assert sum(1 for m in ms if m.expect_packets) >= 5  # the truncation check has something to check
    failures, peak = run_mutants(ms, tmp_path)
    report = "\n".join(f"{m.name}: {'; '.join(why)}" for m, why in failures)
    assert not failures, f"seed {SEED}:\n{report}"
    assert 0 < peak < MAX_RSS_KB


def _regression_files() -> list[Path]:
    return sorted(p for p in REGRESSIONS.iterdir() if p.name != "INDEX.tsv") if REGRESSIONS.exists() else []


def test_regressions_are_handled(tmp_path, monkeypatch):
    monkeypatch.setenv("FUZZ_FILE_TIMEOUT", "60")  # a regression that hangs again fails within a minute
    files = _regression_files()
    assert files, "tests/fuzz/regressions/ holds the mutants that once failed"
    expected = {}
    for line in (REGRESSIONS / "INDEX.tsv").read_text().splitlines():
        name, _mutant, packets, _why = line.split("\t", 3)
        expected[name] = int(packets) if packets else None
    rows, rss, stderr = run_files(files, tmp_path / "case.duckdb")
    assert len(rows) == len(files), stderr[-2000:]
    bad = {}
    for path, row in zip(files, rows, strict=True):
        why = problems(None, row)
        if expected.get(path.name) is not None and row["status"] != "duplicate" \
                and row["packets"] != expected[path.name]:
            why.append(f"packets {row['packets']} != {expected[path.name]}")
        if why:
            bad[path.name] = why
    assert not bad
    assert rss < MAX_RSS_KB


@pytest.mark.oracle
def test_truncation_oracle_agrees_with_tshark(tmp_path):
    """The whole-records count the fuzz test expects equals what tshark reads from the cut file."""
    exe = shutil.which("tshark")
    assert exe
    checked = 0
    for m in mutants(SEED, 200):
        if m.expect_packets is None or checked >= 6:
            continue
        path = tmp_path / f"cut{checked}"
        path.write_bytes(m.data)
        out = subprocess.run([exe, "-r", str(path), "-T", "fields", "-e", "frame.number"], capture_output=True,
                             text=True, timeout=60)
        frames = len(out.stdout.split())
        if out.returncode != 0 and frames == 0:  # tshark refuses a file whose header is cut; so do we (0)
            assert m.expect_packets == 0, m.name
        else:
            assert frames == m.expect_packets == whole_before(m.data, len(m.data)), m.name
        checked += 1
    assert checked == 6


def test_cli_on_mutants(tmp_path):
    """Through the real command: exit 0/1/2 and no traceback on stderr."""
    picked = [m for m in mutants(SEED + 1, 60) if m.expect_packets is None][:3]
    paths = []
    for i, m in enumerate(picked):
        p = tmp_path / f"m{i}.bin"
        p.write_bytes(m.data)
        paths.append(str(p))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "forensics", "import", *paths, "--db", str(tmp_path / "c.duckdb")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert out.returncode in (0, 1, 2)
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
