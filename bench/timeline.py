"""Per-thread timeline of one `forensics` command, in this process (issue 17: where does a core idle?).

    python -m bench.timeline import --quiet --db /tmp/x/lake /tmp/bench/p2m.pcap
    python -m bench.timeline --step 0.02 --bucket 0.1 --json OUT.json import --quiet --db DIR FILE

A sampler thread reads /proc/self/task/*/schedstat every `--step` seconds (nanoseconds on a CPU and waiting in
the run queue, per thread) and, for the Python threads, the innermost frame of forensics code (what each is
doing). Printed per `--bucket`: each thread's CPU milliseconds and the doing of the main and decode threads,
then per thread its CPU, its run-queue wait and its first and last busy moment, and the time the process
wanted fewer than two cores (on-CPU + run-queue wait < 2 x wall: the idle core this issue is about; the
run-queue wait counts as wanted, so a loaded machine does not read as idle). The sampler's own CPU is its row.
"""

from __future__ import annotations

import collections
import json
import os
import sys
import threading
import time

T0 = time.perf_counter()


def _task_times() -> dict[int, tuple[int, int]]:
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                run, wait, _ = f.read().split()
            out[int(tid)] = (int(run), int(wait))
        except (OSError, ValueError):
            continue
    return out


def _doing(frame) -> str:  # noqa: ANN001 - a frame
    """The innermost frame in forensics code (else the innermost of any), as module:function."""
    first = None
    while frame is not None:
        code = frame.f_code
        fn = code.co_filename
        if first is None:
            first = f"{os.path.basename(fn)}:{code.co_name}"
        if "/forensics/" in fn:
            return f"{fn.split('/forensics/')[-1]}:{code.co_name}"
        frame = frame.f_back
    return first or "?"


class Sampler(threading.Thread):
    def __init__(self, step: float) -> None:
        super().__init__(daemon=True, name="sampler")
        self.step = step
        self.samples: list[tuple[float, dict[int, tuple[int, int]], dict[int, str]]] = []
        self.names: dict[int, str] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            t = time.perf_counter() - T0
            times = _task_times()
            by_ident = {th.ident: th for th in threading.enumerate()}
            doing = {}
            for ident, frame in sys._current_frames().items():
                th = by_ident.get(ident)
                if th is None or th.native_id is None:
                    continue
                self.names[th.native_id] = th.name
                doing[th.native_id] = _doing(frame)
            self.samples.append((t, times, doing))
            self.stop.wait(self.step)

    def report(self, bucket: float, out_json: str | None) -> None:
        s = self.samples
        tids = sorted({tid for _, times, _ in s for tid in times})
        name = {tid: self.names.get(tid, "native") for tid in tids}
        main_tid = threading.main_thread().native_id
        name[main_tid] = "main"
        totals = {tid: [0, 0] for tid in tids}
        first_busy: dict[int, float] = {}
        last_busy: dict[int, float] = {}
        rows = []
        wanted_short = 0.0  # core-seconds the process did not want (of 2 cores)
        prev_t, prev = s[0][0], s[0][1]
        buck: dict = collections.defaultdict(lambda: [0, 0])
        buck_doing: dict = collections.defaultdict(collections.Counter)
        b_start = s[0][0]
        for t, times, doing in s[1:]:
            dt = t - prev_t
            want = 0
            for tid, (run, wait) in times.items():
                r0, w0 = prev.get(tid, (0, 0))
                dr, dw = run - r0, wait - w0
                totals[tid][0] += dr
                totals[tid][1] += dw
                want += dr + dw
                buck[tid][0] += dr
                buck[tid][1] += dw
                if dr > 0.2 * dt * 1e9:
                    first_busy.setdefault(tid, prev_t)
                    last_busy[tid] = t
            wanted_short += max(0.0, 2 * dt - want / 1e9)
            for tid, what in doing.items():
                buck_doing[name.get(tid, "?")][what] += 1
            prev_t, prev = t, times
            if t - b_start >= bucket - 1e-9 or t == s[-1][0]:
                row = {"t": round(b_start, 2), "cpu_ms": {}, "wait_ms": {}, "doing": {}}
                for tid, (dr, dw) in buck.items():
                    if dr + dw > 1e6:
                        key = f"{name.get(tid, 'native')}:{tid}" if name.get(tid) == "native" else name.get(tid)
                        row["cpu_ms"][key] = round(dr / 1e6)
                        row["wait_ms"][key] = round(dw / 1e6)
                for n in ("main", "forensics-decode", "forensics-readback"):
                    if buck_doing.get(n):
                        row["doing"][n] = buck_doing[n].most_common(1)[0][0]
                rows.append(row)
                buck = collections.defaultdict(lambda: [0, 0])
                buck_doing = collections.defaultdict(collections.Counter)
                b_start = t
        span = s[-1][0] - s[0][0]
        print(f"# {span:.2f} s sampled, load average {os.getloadavg()[0]:.2f}; per {bucket:g} s: CPU ms per thread "
              "(native threads by id), busy cores; what main and decode do", file=sys.stderr)
        for row in rows:
            busy = sum(row["cpu_ms"].values()) / (bucket * 1000)
            cells = " ".join(f"{k}={v}" for k, v in sorted(row["cpu_ms"].items(), key=lambda kv: -kv[1]))
            doing = " | ".join(f"{k[10:] if k.startswith('forensics-') else k}: {v}" for k, v in row["doing"].items())
            print(f"{row['t']:6.2f} {busy:4.2f}  {cells}  || {doing}", file=sys.stderr)
        print("# per thread: CPU s, run-queue wait s, first and last busy (s)", file=sys.stderr)
        for tid in sorted(tids, key=lambda x: -totals[x][0]):
            run, wait = totals[tid]
            if run < 5e6:
                continue
            print(f"{name[tid]:>20}:{tid:<7} cpu {run / 1e9:6.3f}  wait {wait / 1e9:6.3f}  busy "
                  f"{first_busy.get(tid, 0):5.2f}-{last_busy.get(tid, 0):5.2f}", file=sys.stderr)
        cpu = sum(v[0] for v in totals.values()) / 1e9
        print(f"# process: {span:.2f} s wall, {cpu:.2f} s CPU; wanted fewer than 2 cores for "
              f"{wanted_short:.2f} core-s (of {2 * span:.2f})", file=sys.stderr)
        if out_json:
            with open(out_json, "w") as f:
                json.dump({"rows": rows, "span_s": span, "cpu_s": cpu, "idle_core_s": wanted_short,
                           "threads": {f"{name[t]}:{t}": totals[t] for t in tids}}, f)


def main() -> None:
    args = sys.argv[1:]
    step, bucket, out_json = 0.02, 0.1, None
    while args and args[0] in ("--step", "--bucket", "--json"):
        opt, val, args = args[0], args[1], args[2:]
        if opt == "--step":
            step = float(val)
        elif opt == "--bucket":
            bucket = float(val)
        else:
            out_json = val
    sampler = Sampler(step)
    sampler.start()
    sys.argv = ["forensics", *args]
    import forensics.cli as cli  # noqa: PLC0415 - after the sampler: the imports are on the timeline

    real_exit = cli._exit

    def _exit(code: int) -> None:
        sampler.stop.set()
        sampler.join()
        sampler.report(bucket, out_json)
        real_exit(code)

    cli._exit = _exit
    cli.main()


if __name__ == "__main__":
    main()
