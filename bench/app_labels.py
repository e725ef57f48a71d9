"""Cost of the application labels (table flow_app) at import: imports of the same capture with application
metadata off and on, alternately in one process (same run, same machine load), with the metadata pass and
the label step timed inside each import.

    python -m bench.app_labels --pcap /tmp/bench/p2m.pcap --runs 2

Prints per run: wall seconds off and on, the metadata pass's and the label step's seconds, labelled flows
and flows; then the medians and the label step's share of the import with metadata on.
"""

from __future__ import annotations

import argparse
import os
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
    spent: dict[str, list[float]] = {"appdata": [], "labels": []}

    def timed(name, fn):  # noqa: ANN001, ANN202
        def inner(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name].append(time.perf_counter() - t)
        return inner

    ingest.extract_appdata = timed("appdata", ingest.extract_appdata)
    ingest.label_flows = timed("labels", ingest.label_flows)
    walls: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for on in (False, True):
                db = Path(tmp) / f"case-{run}-{on}.duckdb"
                t = time.perf_counter()
                with Case.open(db) as case:
                    import_paths(case, [args.pcap], ImportOptions(appdata=on))
                    labelled, flows = case.con.execute(
                        "SELECT (SELECT count(*) FROM flow_app), (SELECT count(*) FROM flows)").fetchone()
                wall = time.perf_counter() - t
                walls[on].append(wall)
                passed, labelling = (spent["appdata"][-1], spent["labels"][-1]) if on else (0.0, 0.0)
                print(f"run {run + 1} appdata={'on ' if on else 'off'} wall {wall:7.2f} s  pass {passed:6.2f} s  "
                      f"labels {labelling:5.2f} s  labelled {labelled} of {flows} flows", flush=True)
                os.remove(db)
    off, on = statistics.median(walls[False]), statistics.median(walls[True])
    labels = statistics.median(spent["labels"])
    print(f"median off {off:.2f} s, on {on:.2f} s ({100 * (on / off - 1):+.0f} %); label step {labels:.2f} s = "
          f"{100 * labels / off:.0f} % of the import without metadata (load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
