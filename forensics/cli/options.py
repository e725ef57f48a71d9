"""Shared option types, declared once (sqlite-utils' output_options idea, in Typer's Annotated form)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DB = "forensics.duckdb"


def default_db() -> str:
    """$FORENSICS_DB, else forensics.duckdb in the current folder."""
    return os.environ.get("FORENSICS_DB", DEFAULT_DB)


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Case database (default: $FORENSICS_DB or ./forensics.duckdb).", show_default=False),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")]
QuietFlag = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
FilterOption = Annotated[
    str | None, typer.Option("--filter", "-f", help="tcpdump-style filter expression, e.g. 'tcp dst port 445'.")
]


def db_path(db: Path | None) -> str:
    """The case database path from --db or the default."""
    return str(db) if db is not None else default_db()
