"""Many files of a lake case imported in parallel processes (docs/lake.md, "Parallel import").

Each worker imports one file with the same per-file function as a sequential import (forensics.ingest
._import_file), into a private lake case -- a bundle -- under the case's _staging/: its Parquet parts and every
catalog row the file's import writes (captures, interfaces, appdata, flow-export templates, gaps, rejects ...).
Workers never touch the case's catalog. The parent publishes the bundles in file order, one transaction per
file (forensics.store.lake_bundle), so ids, duplicates and results are those of a one-at-a-time import:

- ids: file i is imported as capture `next id + i`; when a file before it was not stored the bundle is
  published under the id a sequential import gives (flow ids shifted with it);
- duplicates: the parent compares the bundle's sha256 with the catalog's (files before it included);
- flow exports: a file whose import met export datagrams depends on the templates and held data sets already in
  the case; when the case holds any at its turn, the parent imports that file again itself, in order.

The same `run_bundle` runs on Spark executors (forensics/spark/import_job.py).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import shutil
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from forensics.ingest import FileResult, ImportOptions, ImportProgress, NullProgress, _import_file
from forensics.store import Case
from forensics.store.lake_bundle import bundle_sha256, publish_bundle
from forensics.store.lake_layout import STAGING

# Worker processes by default only when at least two files are this large: starting one costs about 1 s of CPU
# (Python, DuckDB, pyarrow), and one large file among small ones gains nothing; --jobs N asks for them anyway.
PROCESS_MIN_BYTES = 32 << 20


@dataclass
class BundleJob:
    """One file for one worker: where to read it, under which capture id, where its bundle goes."""

    index: int
    path: str
    capture_id: int
    bundle: str
    options: ImportOptions


@dataclass
class BundleOutcome:
    """What a worker hands back: no rows, only the bundle's place and the file's result."""

    index: int
    path: str
    capture_id: int
    bundle: str
    result: FileResult
    sha256: str | None


def process_jobs(files: list[str], options: ImportOptions) -> int:
    """Worker processes for these files: --jobs N as given (FORENSICS_IMPORT_JOBS too); else one per core when
    at least two files are large. --force replaces captures as it goes: one at a time."""
    if options.force or len(files) < 2:
        return 1
    jobs = options.jobs
    env = os.environ.get("FORENSICS_IMPORT_JOBS", "")
    if jobs is None and env.isdigit() and int(env) > 0:
        jobs = int(env)
    if jobs is not None:
        return max(1, min(jobs, len(files)))
    cores = os.cpu_count() or 1
    large = 0
    for path in files:
        try:
            large += os.path.getsize(path) >= PROCESS_MIN_BYTES
        except OSError:
            pass
    return min(cores, len(files)) if large >= 2 else 1


def run_bundle(job: BundleJob, progress: ImportProgress | None = None) -> BundleOutcome:
    """Import one file into its bundle (a new lake case at job.bundle). Runs in a worker process or a Spark task."""
    started = time.perf_counter()
    with Case.open(job.bundle) as bundle, bundle.import_memory():
        result = _import_file(bundle, job.path, job.options, progress or NullProgress(), capture_id=job.capture_id)
    result.seconds = round(time.perf_counter() - started, 3)
    sha = bundle_sha256(Path(job.bundle), job.capture_id) if result.status in ("imported", "partial") else None
    return BundleOutcome(job.index, job.path, job.capture_id, job.bundle, result, sha)


def plan_bundles(case: Case, files: list[str], options: ImportOptions, staging: Path | None = None,
                 ) -> list[BundleJob]:
    """A job per file, capture ids guessed in file order, bundles under `staging` (the case's _staging/) named
    after this process (the case's own sweep leaves them; the next open after a kill removes them)."""
    assert case.lake_root is not None
    first = int(case.con.execute("SELECT coalesce(max(capture_id), 0) + 1 FROM captures").fetchone()[0])
    base = staging or case.lake_root / STAGING
    token = f"{os.getpid()}-bundle-{uuid.uuid4().hex[:8]}"
    return [BundleJob(i, path, first + i, str(base / f"{token}-{i}"), options) for i, path in enumerate(files)]


class BundlePublisher:
    """The parent's half: bundles published in file order into the case, each as a sequential import of that
    file would have left it."""

    def __init__(self, case: Case, options: ImportOptions, progress: ImportProgress) -> None:
        assert case.lake_root is not None
        self.case, self.root, self.options, self.progress = case, case.lake_root, options, progress

    def _next_id(self) -> int:
        return int(self.case.con.execute("SELECT coalesce(max(capture_id), 0) + 1 FROM captures").fetchone()[0])

    def _export_state(self) -> bool:
        return bool(self.case.con.execute(
            "SELECT (SELECT count(*) FROM flow_templates) + (SELECT count(*) FROM flow_pending_sets)").fetchone()[0])

    def publish(self, outcome: BundleOutcome) -> FileResult:
        """Publish one bundle (or settle its file otherwise) and remove it."""
        bundle = Path(outcome.bundle)
        try:
            return self._publish(outcome, bundle)
        finally:
            shutil.rmtree(bundle, ignore_errors=True)

    def _publish(self, outcome: BundleOutcome, bundle: Path) -> FileResult:
        result = outcome.result
        if "flow_exports" in result.details and self._export_state():
            # its datagrams may need templates (or complete data sets) the case holds: import it here, in order
            started = time.perf_counter()
            redone = _import_file(self.case, outcome.path, self.options, self.progress)
            redone.seconds = round(time.perf_counter() - started, 3)
            return redone
        if outcome.sha256 is not None:
            found = self.case.capture_by_sha256(outcome.sha256)
            if found is not None:
                cid, old_path = found
                return FileResult(outcome.path, "duplicate", capture_id=cid,
                                  message=f"{outcome.path}: same content already imported as capture {cid} "
                                          f"({old_path}); nothing done (use --force to replace it)")
        to_id = self._next_id() if outcome.sha256 is not None else outcome.capture_id
        if bundle.is_dir() and (bundle / "case.duckdb").exists():
            publish_bundle(self.case.con, self.root, bundle, outcome.capture_id, to_id)
        if result.capture_id is not None:
            result.capture_id = to_id
        return result


class _QueueProgress:
    """A worker's progress, sent to the parent (advances at most 10 times a second). Stops the worker when
    the parent is gone (kill -9): its bundle is then a leftover the next open sweeps."""

    def __init__(self, index: int, queue: Any, parent: int) -> None:
        self.index, self.queue, self.parent, self.last = index, queue, parent, 0.0

    def file_started(self, path: str, size: int) -> None:
        self.queue.put(("start", self.index, path, size))

    def advanced(self, bytes_done: int, packets: int) -> None:
        if os.getppid() != self.parent:
            raise KeyboardInterrupt
        now = time.monotonic()
        if now - self.last >= 0.1:
            self.last = now
            self.queue.put(("advanced", self.index, bytes_done, packets))

    def file_done(self, result: FileResult) -> None:
        pass


_worker_queue: Any = None
_worker_parent = 0


def _init_worker(queue: Any, parent: int) -> None:
    """A worker ignores Ctrl-C (the parent stops it) and reports to `queue`."""
    global _worker_queue, _worker_parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_queue, _worker_parent = queue, parent


def _work(job: BundleJob) -> BundleOutcome:
    return run_bundle(job, _QueueProgress(job.index, _worker_queue, _worker_parent))


class _Relay:
    """Worker messages passed on to the import's progress: every start; the advances of the file started last."""

    def __init__(self, progress: ImportProgress, queue: Any) -> None:
        self.progress, self.queue, self.current = progress, queue, -1

    def drain(self) -> None:
        while True:
            try:
                kind, index, a, b = self.queue.get_nowait()
            except (Empty, OSError, ValueError):
                return
            if kind == "start":
                self.current = index
                self.progress.file_started(a, b)
            elif index == self.current:
                self.progress.advanced(a, b)


def import_in_processes(case: Case, files: list[str], options: ImportOptions, progress: ImportProgress,
                        jobs: int) -> list[FileResult]:
    """Import `files` into the lake case with `jobs` worker processes; results in file order. An interrupt
    stops the workers, leaves the case as it was before the file being published, and is raised here."""
    assert case.lake_root is not None
    planned = plan_bundles(case, files, options)
    publisher = BundlePublisher(case, options, progress)
    ctx = mp.get_context("spawn")  # never fork a process holding DuckDB's threads and locks
    queue = ctx.Queue()
    relay = _Relay(progress, queue)
    pool = ctx.Pool(jobs, initializer=_init_worker, initargs=(queue, os.getpid()))
    results: list[FileResult] = []
    outcomes = None
    try:
        outcomes = pool.imap(_work, planned, chunksize=1)
        for _ in planned:
            while True:
                try:
                    outcome = outcomes.next(timeout=0.1)
                    break
                except mp.TimeoutError:
                    relay.drain()
            relay.drain()
            result = publisher.publish(outcome)
            results.append(result)
            progress.file_done(result)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        queue.close()
        queue.join_thread()
        for job in planned:
            shutil.rmtree(job.bundle, ignore_errors=True)
        # let go of the pool's locks now: a traceback held by the caller (an interrupt) keeps this frame alive,
        # and locks still held at exit make multiprocessing warn of leaked semaphores
        outcomes = relay = queue = pool = None  # noqa: F841
        gc.collect()  # the pool's objects refer to each other
    return results


__all__ = ["BundleJob", "BundleOutcome", "BundlePublisher", "import_in_processes", "plan_bundles", "process_jobs",
           "run_bundle"]
