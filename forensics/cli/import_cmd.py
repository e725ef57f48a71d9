"""`forensics import PATH...`"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from forensics.cli import interrupts
from forensics.cli.compact import compact_progress, compaction_line
from forensics.cli.options import DbOption, EngineOption, JsonFlag, QuietFlag, SparkMasterOption, db_path
from forensics.cli.progress import Ledger, make_progress
from forensics.errors import Interrupted, UsageError

if TYPE_CHECKING:
    from forensics.ingest import ImportSummary
    from forensics.store import Case

# Up to this many "already imported" lines are printed one by one; beyond, one line counts them (a re-import of
# a folder of 10,000 files said so 10,000 times). --json always lists every file.
DUPLICATE_LINES = 10


def import_command(
    paths: Annotated[list[str], typer.Argument(help="Capture files, flow files or folders (recursive).")],
    db: DbOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace captures already imported with the same content.")
    ] = False,
    idle_timeout: Annotated[float, typer.Option(help="Flow idle timeout, seconds.")] = 15.0,
    active_timeout: Annotated[float, typer.Option(help="Flow active timeout, seconds.")] = 1800.0,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1,
                                 help="Worker processes for the files of a lake case (default: one per core "
                                      "when two files or more are 32 MB or larger; 1: all in this process).")
    ] = None,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
    json_out: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Import captures (pcap, pcapng, compressed or not) and flow files into the case database.

    Formats are told by content: gzip, zstd, LZ4, bzip2 and xz files are read through their decompressor.

    Exit code 0 when everything was imported, 1 when some input was rejected (the rest is kept).
    Ctrl-C or SIGTERM rolls back the file being imported and says which files were kept.

    On a lake case (a folder) several files are imported by worker processes (--jobs), or with --engine spark
    by Spark tasks, one per file (the files and the case at the same paths on every executor); the catalog
    commits them in file order.

    Example: forensics import captures/ --db case.duckdb
    """
    from forensics.cli.options import check_engine
    from forensics.readers.filehash import hash_early

    if engine == "duckdb" and len(paths) == 1:  # one file: its sha256 on the other core while the rest loads
        hash_early(paths[0])
    from forensics.ingest import ImportOptions, import_paths
    from forensics.jit import warm_up
    from forensics.store import Case
    from forensics.store.lake_compact import auto_parts, maybe_compact

    auto_parts()  # a bad FORENSICS_COMPACT_PARTS is a usage error before anything is imported, not after
    if check_engine(engine, spark_master) == "spark":
        from forensics.spark.import_job import spark_import_paths
        from forensics.store.lake import wants_lake

        if not wants_lake(db_path(db)):
            todo = (f"convert this one first: forensics convert --db {db_path(db)}" if Path(db_path(db)).exists()
                    else "give a folder path (a new lake case), e.g. --db case/")
            raise UsageError(f"{db_path(db)}: --engine spark imports into a lake case (a folder) only; {todo}")

        def run(case: Case, paths: list[str], options: ImportOptions, ledger: Ledger) -> ImportSummary:
            return spark_import_paths(case, paths, options, ledger, master=spark_master)
    else:
        run = import_paths

    if engine == "duckdb":
        warm_up()  # numba's set-up while the case opens (forensics/jit.py)
    options = ImportOptions(force=force, idle_timeout=idle_timeout, active_timeout=active_timeout, jobs=jobs)
    ledger = Ledger(make_progress(quiet or json_out))
    summary = None
    compaction = None
    try:
        with Case.open(db_path(db)) as case:
            before = _last_capture_id(case)
            try:
                summary = run(case, paths, options, ledger)
                # a lake with many small captures' parts: merged into shared files
                compaction = maybe_compact(case, compact_progress(quiet or json_out))
            except BaseException as exc:
                if not interrupts.interrupted(exc):
                    raise
                interrupts.hold()  # a second Ctrl-C must not cut the report of what was kept
                raise Interrupted(_interrupted_during(case, before, ledger, db_path(db)),
                                  interrupts.exit_code()) from None
        _print_summary(summary, db_path(db), json_out, quiet, compaction)
    except BaseException as exc:
        if isinstance(exc, Interrupted) or not interrupts.interrupted(exc):
            raise
        interrupts.hold()
        raise Interrupted(_interrupted_after(summary, db_path(db)), interrupts.exit_code()) from None
    raise typer.Exit(summary.exit_code)


def _print_summary(summary: ImportSummary, db: str, json_out: bool, quiet: bool, compaction: dict | None) -> None:
    if json_out:
        print(json.dumps({**summary.to_dict(), "compaction": compaction}, indent=2, default=str))
        return
    duplicates = [f for f in summary.files if f.status == "duplicate"]
    for f in summary.files:
        if f.status in ("rejected", "partial"):
            print(f"forensics: {f.message}", file=sys.stderr)
        elif f.status == "duplicate":
            if not quiet and len(duplicates) <= DUPLICATE_LINES:
                print(f"{f.message}", file=sys.stderr)
        elif not quiet:
            extra = f", {f.flow_records:,} exported flow records" if f.flow_records else ""
            print(f"{f.status} {f.path}: capture {f.capture_id}, {f.format}, {f.packets:,} packets, "
                  f"{f.flows:,} flows{extra}" + (f", {f.malformed} malformed" if f.malformed else ""))
        invalid = (f.details.get("flow_exports") or {}).get("invalid") or {}
        if invalid and f.flow_records:  # in a file without exports these are UDP datagrams that only look alike
            named = ", ".join(f"{reason} {count}" for reason, count in sorted(invalid.items()))
            print(f"  {f.path}: invalid flow export records skipped: {named}", file=sys.stderr)
    if not quiet and len(duplicates) > DUPLICATE_LINES:
        print(f"{len(duplicates):,} files already imported (same content); nothing done for them "
              "(--force replaces them, --json lists them)", file=sys.stderr)
    t = summary.totals()
    if not quiet:
        print(f"{t['imported']} imported, {t['duplicates']} already present, {t['partial']} partial, "
              f"{t['rejected']} rejected; {t['packets']:,} packets, {t['flows']:,} flows, "
              f"{t['flow_records']:,} exported flow records -> {db}")
        if compaction:
            print(f"compacted: {compaction_line(compaction)}")


def _last_capture_id(case: Case) -> int:
    return int(case.con.execute("SELECT coalesce(max(capture_id), 0) FROM captures").fetchone()[0])


def _names(paths: list[str], most: int = 5) -> str:
    shown = ", ".join(paths[:most])
    return shown + (f" and {len(paths) - most:,} more" if len(paths) > most else "")


def _interrupted_during(case: Case, before: int, ledger: Ledger, db: str) -> str:
    """What the case holds now, asked of the case itself: the captures this run committed are kept; a file
    that was started and is not among them was rolled back."""
    head = f"interrupted ({interrupts.signal_name()})"
    try:
        kept = [str(r[0]) for r in case.con.execute(
            "SELECT path FROM captures WHERE capture_id > $b ORDER BY capture_id", {"b": before}).fetchall()]
    except Exception:  # noqa: BLE001 - the connection itself was cut: say what is certain
        return (f"{head}: the file being imported was rolled back; files committed before it are kept. "
                f"Check with: forensics info --db {db}")
    settled = {str(Path(f.path).resolve()) for f in ledger.done if f.status not in ("imported", "replaced",
                                                                                     "partial")}
    rolled = [p for p in ledger.started if str(Path(p).resolve()) not in set(kept) | settled]
    parts = [head]
    if rolled:
        parts.append(f"rolled back {_names(rolled)} (the case holds none of it)")
    elif ledger.started:
        parts.append(f"nothing rolled back (the last file started, {ledger.started[-1]}, was finished)")
    parts.append(f"kept {len(kept):,} file{'s' if len(kept) != 1 else ''} imported in this run"
                 + (f" ({_names(kept)})" if kept else "") + f" in {db}")
    return "; ".join(parts) + ". Run the same import again to continue (imported files are skipped)"


def _interrupted_after(summary: ImportSummary | None, db: str) -> str:
    head = f"interrupted ({interrupts.signal_name()})"
    if summary is None:
        return f"{head} before any file was imported; {db} is as it was"
    t = summary.totals()
    return (f"{head} after the import had finished: all of it is kept in {db} ({t['imported']} imported, "
            f"{t['duplicates']} already present, {t['rejected']} rejected)")


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
