"""`forensics convert`: a single-file case (case.duckdb) to a lake case (a folder of Parquet parts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import DbOption, JsonFlag, db_path


def convert_command(
    db: DbOption = None,
    to: Annotated[Path | None, typer.Option("--to", help="The new case folder (default: the database's name "
                                            "without .duckdb, beside it).", show_default=False)] = None,
    json_out: JsonFlag = False,
) -> None:
    """Convert a single-file case to a lake case: a folder with the catalog (case.duckdb) and packets and flows
    as Parquet files (docs/lake.md). The new folder is built beside the target and renamed into place at the
    end: interrupted, nothing changes (the next convert clears the half-built folder). The source is kept.

    Example: forensics convert --db case.duckdb --to case/ ; then forensics report wannacry --db case/
    """
    from forensics.store.lake_convert import convert_to_lake

    counts = convert_to_lake(db_path(db), to)
    if json_out:
        print(json.dumps(counts, indent=2))
        return
    print(f"converted {db_path(db)} -> {counts['target']}: {counts['packets']:,} packets, {counts['flows']:,} flows, "
          f"{len(counts['tables'])} catalog tables; use --db {counts['target']}")


def register(app: typer.Typer) -> None:
    app.command("convert")(convert_command)
