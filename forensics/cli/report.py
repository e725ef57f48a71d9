"""`forensics report NAME` and `forensics reports`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import (
    BinOption,
    ConfigOption,
    DbOption,
    EngineOption,
    FilterOption,
    FromOption,
    IpVersionOption,
    JsonFlag,
    ParamOption,
    PeriodOption,
    QueriesOption,
    ScopeOption,
    SparkMasterOption,
    ToOption,
    TopOption,
    UnitOption,
    check_engine,
    db_path,
    report_params,
)
from forensics.cli.output import atomic_write, check_output_file
from forensics.errors import ForensicsError, UsageError

FORMATS = ("table", "csv", "json", "html")
# Parameters set from --from/--to/--period/--bin/--unit/--ip-version rather than --param.
_WINDOW_PARAMS = ("from_ts", "to_ts", "bin_secs", "unit", "ip_version")
_EXT_FORMAT = {".json": "json", ".csv": "csv", ".html": "html", ".htm": "html", ".txt": "table"}


def _format(fmt: str | None, output: Path | None, json_out: bool = False) -> str:
    """--format, else --json, else -o's extension, else table (on a terminal and in a pipe alike, as nfdump)."""
    if json_out and fmt not in (None, "json"):
        raise UsageError(f"--json and --format {fmt}: choose one")
    if json_out:
        return "json"
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    if output is not None and output.suffix.lower() in _EXT_FORMAT:
        return _EXT_FORMAT[output.suffix.lower()]
    return "table"


BasisOption = Annotated[str | None, typer.Option(
    "--basis", help="auto (default: per bin the finest data held: packet time where packets are held, flow start "
    "where only flows are) | packets (packet-time only; bins without packets held have no value) | flows "
    "(flow-start binning over all flows, even where packets are held). The JSON says the basis per bin.",
    show_default=False)]
FreshFlag = Annotated[bool, typer.Option("--fresh", help="Recompute even when the case holds a run with the "
                                         "same definition, parameters, config and data.")]
FormatOption = Annotated[str | None, typer.Option("--format", "-F", help="table | csv | json | html "
                         "(default: from -o's extension, else table, also in a pipe).", show_default=False)]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.",
                         show_default=False)]


def _open_read_only(path: str) -> object:
    """Case.open(path, read_only=True), waiting up to 5 s while another report holds its brief write-open
    (storing a run) -- DuckDB refuses any open of a file another process holds for writing."""
    import time

    from forensics.store import Case

    for _ in range(50):
        try:
            return Case.open(path, read_only=True)
        except ForensicsError as exc:
            if "lock" not in str(exc).lower():
                raise
            time.sleep(0.1)
    return Case.open(path, read_only=True)


def store_run(path: str, outcome: object) -> None:
    """Store a computed run in the case when it can be opened for writing; otherwise say nothing (a read-only
    case, or another process holding it). The write-open is brief: the report itself ran on a read-only open,
    so concurrent reports on one case still work."""
    from forensics.runs import keep
    from forensics.store import Case

    if outcome.pending is None or path == ":memory:" or not Path(path).exists():
        return
    import duckdb

    try:
        with Case.open(path) as case:
            keep(case, outcome)
    except (ForensicsError, duckdb.Error, OSError):  # busy, read-only, full: the report stands, unstored
        pass


def run_and_print(name: str, chosen: str, output: Path | None, *, db: Path | None, config: Path | None,
                  queries: list[Path] | None, filter_expr: str | None, param: list[str] | None,
                  window: dict[str, object], fresh: bool, kind: str, engine: str = "duckdb",
                  spark_master: str | None = None) -> None:
    """Run a report through the case's stored runs (reuse, or compute and store) and print or write it.
    On --engine spark the report is computed on Spark each time (not stored)."""
    try:
        if output is not None:
            check_output_file(output)  # before the query: a folder, a missing parent, no permission
        from forensics.config import load_config
        from forensics.render import render
        from forensics.runs import report_with_runs

        params = report_params(param, **window)
        path = db_path(db)
        case_config = load_config(config, path)
        if engine == "spark":
            from types import SimpleNamespace

            from forensics.spark import spark_report

            with _open_read_only(path) as case:
                computed = spark_report(case, name, params, config=case_config, queries_dirs=tuple(queries or ()),
                                        filter_expr=filter_expr, master=spark_master)
            outcome = SimpleNamespace(result=computed, reused=False, pending=None, run_id=None, computed_at=None)
        else:
            with _open_read_only(path) as case:
                outcome = report_with_runs(case, name, params, config=case_config, queries_dirs=tuple(queries or ()),
                                           filter_expr=filter_expr, fresh=fresh, store_run=False, kind=kind)
            store_run(path, outcome)
        result = outcome.result
        text = render(result, chosen, output_file=str(output) if output else None)
    except ForensicsError as exc:
        if chosen != "json":
            raise
        from forensics.render import render_error_json

        print(render_error_json(str(exc), exc.exit_code, type(exc).__name__), end="")
        raise typer.Exit(exc.exit_code) from None
    if output is not None:
        atomic_write(output, text)
    else:
        sys.stdout.write(text)
    if outcome.reused:
        from forensics.render.jsonout import iso_z

        print(f"forensics: reused run {outcome.run_id} computed at {iso_z(outcome.computed_at)}; "
              "--fresh recomputes", file=sys.stderr)
    elif kind == "reconstruct":
        print(f"forensics: stored run {outcome.run_id} of {result.name}" if outcome.run_id is not None else
              "forensics: not stored (the case could not be opened for writing)", file=sys.stderr)
    if output is not None:
        print(f"wrote {output}", file=sys.stderr)


def report_command(
    name: Annotated[str, typer.Argument(help="Report name (see `forensics reports`).")],
    fmt: FormatOption = None,
    output: OutputOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    queries: QueriesOption = None,
    filter_expr: FilterOption = None,
    param: ParamOption = None,
    start: FromOption = None,
    end: ToOption = None,
    period: PeriodOption = None,
    bin_size: BinOption = None,
    unit: UnitOption = None,
    ip_version: IpVersionOption = "both",
    top: TopOption = None,
    scope: ScopeOption = "any",
    basis: BasisOption = None,
    fresh: FreshFlag = False,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Run a report on the case and print it as a table, CSV, JSON (GenieATM envelope) or an HTML page.

    The run is stored in the case when it is writable; the same report, parameters, config and data again
    reuse it (said on stderr; --fresh recomputes). See `forensics runs`.

    Example: forensics report wannacry --period daily --end 2016-09-07T00:00:00Z --format html -o wc.html
    """
    chosen = _format(fmt, output, json_out)
    check_engine(engine, spark_master)
    window = {"from": start, "to": end, "period": period, "bin": bin_size, "unit": unit, "ip_version": ip_version,
              "top": top, "scope": scope, "basis": basis}
    run_and_print(name, chosen, output, db=db, config=config, queries=queries, filter_expr=filter_expr,
                  param=param, window=window, fresh=fresh, kind="report", engine=engine, spark_master=spark_master)


def reports_command(
    queries: QueriesOption = None,
    json_out: JsonFlag = False,
) -> None:
    """List every report with its parameters; a malformed definition is named with file:line and the reason.

    Example: forensics reports --queries ./my_queries
    """
    from forensics.reports import list_reports

    catalog = list_reports(tuple(queries or ()))
    if json_out:
        doc = {"reports": [{"name": d.name, "title": d.title, "description": d.description, "path": d.path,
                            "unit": d.unit, "dimensions": list(d.dimensions), "measures": list(d.measures),
                            "params": [{"name": p.name, "type": p.type,
                                        "default": p.default if p.has_default else None,
                                        "required": not p.has_default} for p in d.params]}
                           for d in (catalog[n] for n in catalog.names())],
               "errors": [str(e) for e in catalog.errors]}
        print(json.dumps(doc, indent=2, default=str))
    else:
        for n in catalog.names():
            d = catalog[n]
            print(f"{d.name:<20} {d.title}")
            for p in d.params:
                if p.name in _WINDOW_PARAMS:
                    continue
                default = f" = {p.default!r}" if p.has_default else " (required)"
                print(f"{'':<22}--param {p.name} {p.type}{default}")
        for err in catalog.errors:
            print(f"forensics: skipped {err}", file=sys.stderr)
    if catalog.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)
    app.command("reports")(reports_command)
