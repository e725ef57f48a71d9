"""Cost of application metadata at import: the same capture imported with the pass off and on, alternately,
in one process each time (same run, same machine load), plus the pass's own time.

    python -m bench.appdata --pcap /tmp/bench/p2m.pcap --runs 2
    FORENSICS_LAYOUT=file python -m bench.appdata --pcap /tmp/bench/p2m.pcap --runs 2   # a single-file case

Prints per run: wall seconds with FORENSICS_APPDATA off and on, the pass's seconds (timed inside the
import; the candidates are chosen on the decoder's thread, which this does not time), the ratio of medians
and the median of each run's on/off ratio, and the rows per table. The target (issue 15) is at most 15 %
slower.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forensics import ingest  # noqa: E402
from forensics.ingest import ImportOptions, import_paths  # noqa: E402
from forensics.store import Case  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    spent: list[float] = []
    original = ingest.extract_appdata

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return original(*a, **k)
        finally:
            spent.append(time.perf_counter() - t)

    ingest.extract_appdata = timed
    walls: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for on in (False, True):
                db = Path(tmp) / f"case-{run}-{on}.duckdb"  # a lake folder, or a file with FORENSICS_LAYOUT=file
                spent.clear()
                t = time.perf_counter()
                with Case.open(db) as case:
                    summary = import_paths(case, [args.pcap], ImportOptions(appdata=on))
                    rows = dict(case.con.execute("SELECT table_name, rows FROM appdata_counts").fetchall())
                wall = time.perf_counter() - t
                walls[on].append(wall)
                print(f"run {run + 1} appdata={'on ' if on else 'off'} wall {wall:7.2f} s  pass {sum(spent):6.2f} s  "
                      f"exit {summary.exit_code}  {rows if on else ''}", flush=True)
                if db.is_dir():
                    shutil.rmtree(db)
                else:
                    for left in (db, db.with_name(db.name + ".wal")):
                        left.unlink(missing_ok=True)
    off, on = statistics.median(walls[False]), statistics.median(walls[True])
    pairs = statistics.median(b / a for a, b in zip(walls[False], walls[True], strict=True))
    print(f"median off {off:.2f} s, on {on:.2f} s: {100 * (on / off - 1):+.0f} %; median of the runs' own ratios "
          f"{100 * (pairs - 1):+.0f} % (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
