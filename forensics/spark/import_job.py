"""`forensics import --engine spark FILES...`: one Spark task per file, each running the worker function of a
parallel import (forensics.ingest.workers.run_bundle) on an executor; the driver publishes the bundles in file
order, as a local parallel import does (docs/lake.md, "Parallel import").

    summary = spark_import_paths(case, ["captures/"], ImportOptions(), master="local[2]")

A task reads its file and writes its bundle (Parquet parts and a private catalog) under the case's _staging/;
it hands back only the bundle's place and the file's counts: the driver never holds packet rows. The files
and the case folder must therefore be at the same paths on every executor: local paths in local mode; on a
cluster, a shared filesystem (NFS, a FUSE mount of the object store) mounted at the same path everywhere.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import replace

from forensics.errors import UsageError
from forensics.ingest import FileResult, ImportOptions, ImportProgress, ImportSummary, NullProgress, case_home
from forensics.ingest.walk import expand_paths
from forensics.ingest.workers import BundleJob, BundleOutcome, BundlePublisher, plan_bundles
from forensics.spark.session import spark_session
from forensics.store import Case


def _task(job: BundleJob) -> BundleOutcome:
    """On an executor: one file into its bundle."""
    from forensics.ingest.workers import run_bundle

    return run_bundle(job)


def spark_import_files(case: Case, files: list[str], options: ImportOptions, progress: ImportProgress,
                       spark: object) -> list[FileResult]:
    """Import `files` (already expanded) on Spark; results in file order. An interrupt cancels the Spark jobs,
    removes the bundles and is raised here; the case is as before the file being published."""
    planned = plan_bundles(case, files, options)
    publisher = BundlePublisher(case, options, progress)
    sc = spark.sparkContext  # type: ignore[attr-defined]
    results: list[FileResult] = []
    try:
        sc.setJobDescription(f"forensics import: {len(planned)} files")
        outcomes = sc.parallelize(planned, len(planned)).map(_task).collect()
        for outcome in sorted(outcomes, key=lambda o: o.index):
            progress.file_started(outcome.path, 0)
            result = publisher.publish(outcome)
            results.append(result)
            progress.file_done(result)
    except BaseException:
        try:
            sc.cancelAllJobs()
        except Exception:  # noqa: BLE001 - the JVM may be going down with the interrupt
            pass
        raise
    finally:
        for job in planned:
            shutil.rmtree(job.bundle, ignore_errors=True)
    return results


def spark_import_paths(case: Case, paths: Iterable[str], options: ImportOptions | None = None,
                       progress: ImportProgress | None = None, master: str | None = None,
                       spark: object | None = None) -> ImportSummary:
    """import_paths on Spark executors: a lake case only (a single-file case: convert it first)."""
    if case.lake_root is None:
        raise UsageError(f"{case.path}: --engine spark imports into a lake case (a folder) only; convert this one "
                         f"first: forensics convert --db {case.path}")
    options = options or ImportOptions()
    if options.home is None:  # the case config's home blocks, for the flows parts' home bits (as import_paths)
        options = replace(options, home=case_home(case))
    progress = progress or NullProgress()
    summary = ImportSummary()
    files, problems = expand_paths(paths)
    for path, message in problems:
        result = FileResult(path, "rejected", message=message)
        summary.files.append(result)
        progress.file_done(result)
    if files:
        if options.force:
            raise UsageError("--force replaces captures one at a time: run it without --engine spark")
        summary.files.extend(spark_import_files(case, files, options, progress, spark or spark_session(master)))
    return summary


__all__ = ["spark_import_files", "spark_import_paths"]
