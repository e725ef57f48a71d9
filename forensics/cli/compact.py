"""`forensics compact`: small captures' Parquet parts of a lake case merged into shared files."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import typer

from forensics.cli.options import DbOption, JsonFlag, QuietFlag, db_path


def compact_progress(quiet: bool) -> Callable[[int, int], None] | None:
    """A status line on a terminal while parts are merged (parts done / parts to merge); None when piped or quiet."""
    if quiet or not sys.stderr.isatty():
        return None
    last = [0.0]

    def draw(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.1:
            return
        last[0] = now
        end = "\r" + " " * 80 + "\r" if done >= total else ""
        sys.stderr.write(f"\rcompacting small captures' parts: {done:,} / {total:,}".ljust(80) + end)
        sys.stderr.flush()

    return draw


def compaction_line(counts: dict) -> str:
    """One line saying what a compaction did."""
    return (f"{counts['parts_merged']:,} parts ({counts['rows']:,} rows) merged into "
            f"{counts['shared_files']:,} shared files; {counts['files_before']:,} -> {counts['files_after']:,} parts "
            f"in {counts['seconds']} s")


def compact_command(db: DbOption = None, json_out: JsonFlag = False, quiet: QuietFlag = False) -> None:
    """Merge the Parquet parts of small captures (fewer rows than one row group) of a lake case into shared files
    under shared/packets/ and shared/flows/, a day at a time (docs/lake.md, "Small captures"). Atomic: killed,
    the case is as before or as after. An import does this by itself when many small parts wait.

    Example: forensics compact --db case/
    """
    from forensics.store import Case
    from forensics.store.lake_compact import compact

    with Case.open(db_path(db)) as case:
        counts = compact(case, compact_progress(quiet or json_out))
    if json_out:
        print(json.dumps(counts, indent=2))
        return
    if not counts["parts_merged"]:
        print(f"{db_path(db)}: nothing to compact ({counts['files_before']:,} parts)")
        return
    print(f"{db_path(db)}: {compaction_line(counts)}")


def register(app: typer.Typer) -> None:
    app.command("compact")(compact_command)
