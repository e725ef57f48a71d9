"""Run mutants through tests.fuzz.driver in child processes and say which failed, and why.

A campaign outside the suite (the suite runs a few hundred; this finds new failures):

    python -m tests.fuzz.run --seed 1 --count 3000 [--save]

--save copies each failing mutant into tests/fuzz/regressions/ (named by its sha256) and appends a
line to regressions/INDEX.tsv (file, mutant name, what failed).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.fuzz.mutate import Mutant, mutants

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
MAX_RSS_KB = 1024 * 1024  # 1 GiB for a child that imports a batch of small files
CHUNK = 150  # files per child process


def run_files(paths: list[Path], db: Path, timeout: float = 600) -> tuple[list[dict], int, str]:
    """(one row per path from the driver, the child's peak RSS in KB, its stderr)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), FORENSICS_IMPORT_WORKERS="1")
    try:
        out = subprocess.run([sys.executable, "-m", "tests.fuzz.driver", str(db), *map(str, paths)],
                             capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
        stdout, stderr = out.stdout, out.stderr
    except subprocess.TimeoutExpired as exc:  # stuck where a signal cannot reach: the rows so far
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        stderr = f"child killed after {timeout} s"
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    rss = lines.pop()["maxrss_kb"] if lines and "maxrss_kb" in lines[-1] else -1
    return lines, rss, stderr


def problems(m: Mutant | None, row: dict) -> list[str]:
    """What is wrong with one driver row (empty when the file was handled)."""
    out = []
    if row.get("status") == "crash":
        out.append(f"crash {row['crash']} at {row.get('where')}")
        return out
    if row.get("exit") not in (0, 1, 2):
        out.append(f"exit code {row.get('exit')}")
    msg = row.get("message") or ""
    if "\n" in msg or "Traceback" in msg:
        out.append("message is not one line")
    if m is not None and m.expect_packets is not None and row.get("status") != "duplicate" \
            and row.get("packets") != m.expect_packets:
        out.append(f"packets {row.get('packets')} != {m.expect_packets} whole records before the cut")
    return out


def run_mutants(ms: list[Mutant], work: Path) -> tuple[list[tuple[Mutant, list[str]]], int]:
    """Failures ([(mutant, problems)]) and the highest child RSS (KB)."""
    failures: list[tuple[Mutant, list[str]]] = []
    peak = 0
    for start in range(0, len(ms), CHUNK):
        batch = ms[start:start + CHUNK]
        paths = []
        for i, m in enumerate(batch):
            suffix = ".gz" if m.data[:2] == b"\x1f\x8b" else ".bin"
            p = work / f"m{start + i:05d}{suffix}"
            p.write_bytes(m.data)
            paths.append(p)
        todo = list(zip(batch, paths, strict=True))
        while todo:  # a child that dies on a file is restarted after it
            db = work / f"case{start}-{len(todo)}.duckdb"
            rows, rss, stderr = run_files([p for _, p in todo], db)
            peak = max(peak, rss)
            if rss > MAX_RSS_KB:
                failures.append((todo[0][0], [f"child peak RSS {rss} KB over {MAX_RSS_KB} KB"]))
            by_path = {r["path"]: r for r in rows}
            for i, (m, p) in enumerate(todo):
                row = by_path.get(str(p))
                if row is None:  # the child died on this file
                    failures.append((m, [f"no result (child stderr: {stderr.strip()[-300:]})"]))
                    todo = todo[i + 1:]
                    break
                bad = problems(m, row)
                if bad:
                    failures.append((m, bad))
            else:
                todo = []
        for p in paths:
            p.unlink(missing_ok=True)
    return failures, peak


def save(m: Mutant, why: list[str]) -> Path:
    REGRESSIONS.mkdir(exist_ok=True)
    digest = hashlib.sha256(m.data).hexdigest()[:16]
    path = REGRESSIONS / (digest + (".gz" if m.data[:2] == b"\x1f\x8b" else ".bin"))
    if not path.exists():
        path.write_bytes(m.data)
        with (REGRESSIONS / "INDEX.tsv").open("a") as f:
            f.write(f"{path.name}\t{m.name}\t{m.expect_packets if m.expect_packets is not None else ''}\t"
                    f"{' '.join('; '.join(why).split())[:300]}\n")  # one line, no tabs
    return path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--save", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        failures, peak = run_mutants(mutants(args.seed, args.count), Path(tmp))
    for m, why in failures:
        print(f"{m.name}\t{'; '.join(why)}")
        if args.save:
            save(m, why)
    print(f"{len(failures)} of {args.count} mutants failed; peak child RSS {peak / 1024:.0f} MB")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
