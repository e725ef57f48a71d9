"""Minor page faults and thread CPU per step of one `forensics import`, in this process (issue 17: fresh memory).

    python -m bench.faults --db /tmp/x/lake /tmp/bench/p2m.pcap

Wraps the import's steps (the decoder's _emit, packet_table, the meter, the selector, the Parquet writes, the
read-back, the label step...) and counts, around each call, the calling thread's minor faults
(getrusage(RUSAGE_THREAD).ru_minflt: a page touched for the first time, mostly fresh memory the kernel zeroes,
or a mapped page of the file) and its CPU seconds; inclusive of nested steps. Prints per step and thread: calls,
faults (the first 8 calls' each) and CPU, and the process's totals.
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib
import os
import resource
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = [
    ("forensics.readers.capture", "CaptureReader._emit"),
    ("forensics.store", "packet_table"),
    ("forensics.ingest.flowmeter", "FlowMeter.feed"),
    ("forensics.appdata.select", "CandidateSelector.feed"),
    ("forensics.store", "CaptureWriter.append_packet_table"),
    ("forensics.store", "CaptureWriter.append_derived_flows"),
    ("forensics.ingest", "parse_appdata"),
    ("forensics.ingest", "payload_evidence"),
    ("forensics.ingest", "extract_appdata"),
    ("forensics.ingest", "label_flows"),
    ("forensics.ingest", "_seal"),
]

_stats: dict[tuple[str, str], list[Any]] = collections.defaultdict(lambda: [0, 0, 0.0, []])


def _wrap(module: str, qualname: str) -> None:
    owner: Any = importlib.import_module(module)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def probe(*args: Any, **kwargs: Any) -> Any:
        f0, t0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt, time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - f0
            s = _stats[(threading.current_thread().name, qualname)]
            s[0] += 1
            s[1] += faults
            s[2] += time.thread_time() - t0
            s[3].append(faults)

    setattr(owner, name, probe)
    if module == "forensics.store" and qualname == "packet_table":  # imported by name into forensics.ingest
        importlib.import_module("forensics.ingest").packet_table = probe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="the case to create (removed first)")
    ap.add_argument("file")
    args = ap.parse_args()
    sys.argv = ["forensics", "import", "--quiet", "--db", args.db, args.file]
    import forensics.cli as cli

    for module, qualname in STEPS:
        _wrap(module, qualname)
    shutil.rmtree(args.db, ignore_errors=True)

    class _Done(Exception):
        pass

    def _exit(code: int) -> None:
        raise _Done(code)

    cli._exit = _exit  # main() ends the process with os._exit: this process reports first
    r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    try:
        cli.main()
    except _Done as done:
        if done.args[0]:
            sys.exit(done.args[0])
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(f"import: minor faults {r1.ru_minflt - r0.ru_minflt}, user {r1.ru_utime - r0.ru_utime:.2f} s, "
          f"sys {r1.ru_stime - r0.ru_stime:.2f} s, wall {time.perf_counter() - w0:.2f} s, "
          f"load {os.getloadavg()[0]:.2f}")
    for (thread, qualname), (calls, faults, cpu, each) in sorted(_stats.items()):
        print(f"{thread[:12]:12} {qualname:36} calls {calls:3d}  faults {faults:7d}  cpu {cpu:6.3f} s  "
              f"{each[:8] if calls > 1 else ''}")


if __name__ == "__main__":
    main()
