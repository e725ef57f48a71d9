"""Peak RSS of one import, per step: VmRSS and RssAnon sampled every 20 ms from /proc/self/status while one
capture is imported in this process (one file, one process: `jobs=1`), with the step running at the time.

    python -m bench.rss_steps --pcap /tmp/rss/p13m.pcap --case /tmp/rss/c13          # a lake (the default)
    FORENSICS_LAYOUT=file python -m bench.rss_steps --pcap ... --case /tmp/rss/f13.duckdb

Steps: streaming (decode, meter, select, write packets), appdata (ingest/appdata_pass.py), labels
(ingest/app_labels.py), publish (a lake's Stage.publish), close; `streaming'` is what runs between them.
Prints one JSON line: peaks per step (MB), ru_maxrss (MiB, the target's figure: issue 17, under 1 GiB on a
10 GB capture), wall and CPU seconds. The case path must not exist.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import forensics.ingest as ingest  # noqa: E402
from forensics.store import Case, lake  # noqa: E402


def _status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                out[key] = int(value.split()[0]) // 1024
    return out


class Probe:
    """The step now running, and the peaks seen in each."""

    def __init__(self) -> None:
        self.step = "streaming"
        self.peaks: dict[str, dict[str, int]] = {}
        self.done = threading.Event()

    def sample(self) -> None:
        while not self.done.is_set():
            now = _status()
            peak = self.peaks.setdefault(self.step, {"VmRSS": 0, "RssAnon": 0})
            for key, value in now.items():
                peak[key] = max(peak[key], value)
            time.sleep(0.02)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        fn: Callable = getattr(owner, name)

        def step(*args: Any, **kwargs: Any) -> Any:
            before, self.step = self.step, label
            try:
                return fn(*args, **kwargs)
            finally:
                self.step = before + "'" if before == "streaming" else before

        setattr(owner, name, step)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--case", required=True, help="a new case path (a folder: a lake; FORENSICS_LAYOUT=file and "
                                                  "a .duckdb path: a single file)")
    args = ap.parse_args()
    if Path(args.case).exists():
        sys.exit(f"{args.case}: exists; give a new case path")
    probe = Probe()
    probe.wrap(ingest, "extract_appdata", "appdata")
    probe.wrap(ingest, "label_flows", "labels")
    probe.wrap(lake.Stage, "publish", "publish")
    threading.Thread(target=probe.sample, daemon=True).start()
    wall, cpu = time.perf_counter(), time.process_time()
    with Case.open(args.case) as case:
        summary = ingest.import_paths(case, [args.pcap], ingest.ImportOptions(jobs=1))
        probe.step = "close"
    probe.done.set()
    print(json.dumps({"files": [(f.status, f.packets, f.flows) for f in summary.files],
                      "wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(time.process_time() - cpu, 1),
                      "ru_maxrss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "peaks_MB": probe.peaks}))


if __name__ == "__main__":
    main()
