"""Shared option types, declared once (sqlite-utils' output_options idea, in Typer's Annotated form)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DB = "forensics.duckdb"


def default_db() -> str:
    """$FORENSICS_DB, else forensics.duckdb in the current folder (new: a case folder; with FORENSICS_LAYOUT=file
    a single file; an existing single file stays one)."""
    return os.environ.get("FORENSICS_DB", DEFAULT_DB)


DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Case: a folder (a lake, what a new path becomes) or a single .duckdb file "
                 "(default: $FORENSICS_DB or ./forensics.duckdb).", show_default=False),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the result as JSON (for scripts).")]
QuietFlag = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output.")]
FilterOption = Annotated[
    str | None, typer.Option("--filter", "-f", help="tcpdump-style filter expression, e.g. 'tcp dst port 445'.")
]


def db_path(db: Path | None) -> str:
    """The case database path from --db or the default."""
    return str(db) if db is not None else default_db()


# --- the options that choose a report's rows: shared by `report` and `carve --report` ---------------------

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Case config (default: forensics.toml next to the database, else built-ins).",
                 show_default=False),
]
QueriesOption = Annotated[
    list[Path] | None,
    typer.Option("--queries", help="Folder of extra .sql report definitions (repeatable; overrides by name).",
                 show_default=False),
]
CsvFlag = Annotated[bool, typer.Option("--csv", help="Print the result as CSV.")]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Report parameter NAME=VALUE (repeatable).", show_default=False),
]
FromOption = Annotated[
    str | None, typer.Option("--from", help="Window start, e.g. 2016-09-06T00:00:00Z.", show_default=False)
]
ToOption = Annotated[
    str | None, typer.Option("--to", "--end", help="Window end (exclusive); with --period, the period's end.",
                             show_default=False)
]
PeriodOption = Annotated[
    str | None, typer.Option("--period", help="daily | weekly | monthly | quarterly | yearly, ending at --end.",
                             show_default=False)
]
BinOption = Annotated[
    str | None, typer.Option("--bin", help="Bin size (300, 5min, 2h, 1d); default from the window: <=24h 5min, "
                             "<=7d 30min, <=3 months 2h, else 1d.", show_default=False)
]
UnitOption = Annotated[str | None, typer.Option(
    "--unit", help="bps or pps (average over the bin); bytes, packets or flows (sums over the bin). Bytes are "
    "IP-layer bytes.", show_default=False)]
IpVersionOption = Annotated[str, typer.Option("--ip-version", help="4, 6 or both.")]
TopOption = Annotated[int | None, typer.Option("--top", "-n", help="Items in the top-N (others go to 'Others').",
                                               show_default=False)]
ScopeOption = Annotated[
    str, typer.Option("--scope", help="any | home | boundary | subnetwork:NAME | farm:NAME | filter:NAME | "
                      "business | after_hours.")
]


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """['top=20', 'attributes=src_ip,dst_port'] -> {'top': '20', ...}; UsageError for a pair without '='."""
    from forensics.errors import UsageError

    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {pair!r}: write NAME=VALUE, e.g. --param top=20")
        out[key.strip()] = value
    return out


def report_params(pairs: list[str] | None, **window: object) -> dict[str, object]:
    """The params dict run_report takes: --param pairs plus the window options that were given
    (from, to, period, bin, unit, ip_version, top, scope)."""
    params: dict[str, object] = dict(parse_params(pairs))
    params.update({k: v for k, v in window.items() if v is not None})
    return params


ENGINES = ("duckdb", "spark")
EngineOption = Annotated[
    str, typer.Option("--engine", help="duckdb (default) or spark: run the same SQL on Apache Spark over the case's "
                      "Parquet (pip install 'forensics[spark]' and a Java runtime).")
]
SparkMasterOption = Annotated[
    str | None, typer.Option("--spark-master", help="Spark master URL for --engine spark (default: SPARK_* / "
                             "spark-defaults.conf, else local[*]).", show_default=False)
]


def check_engine(engine: str, master: str | None) -> str:
    """The engine name, validated; --spark-master only with --engine spark."""
    from forensics.errors import UsageError

    if engine not in ENGINES:
        raise UsageError(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    if master is not None and engine != "spark":
        raise UsageError("--spark-master goes with --engine spark")
    return engine
