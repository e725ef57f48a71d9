"""`forensics report NAME` and `forensics reports`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import DbOption, FilterOption, JsonFlag, db_path
from forensics.errors import ForensicsError, UsageError

FORMATS = ("table", "csv", "json", "html")
# Parameters set from --from/--to/--period/--bin/--unit/--ip-version rather than --param.
_WINDOW_PARAMS = ("from_ts", "to_ts", "bin_secs", "unit", "ip_version")
_EXT_FORMAT = {".json": "json", ".csv": "csv", ".html": "html", ".htm": "html", ".txt": "table"}

QueriesOption = Annotated[
    list[Path] | None,
    typer.Option("--queries", help="Folder of extra .sql report definitions (repeatable; overrides by name).",
                 show_default=False),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Case config (default: forensics.toml next to the database, else built-ins).",
                 show_default=False),
]


def _params(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {pair!r}: write NAME=VALUE, e.g. --param top=20")
        out[key.strip()] = value
    return out


def _format(fmt: str | None, output: Path | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
        return fmt
    if output is not None and output.suffix.lower() in _EXT_FORMAT:
        return _EXT_FORMAT[output.suffix.lower()]
    return "table" if sys.stdout.isatty() else "json"


def report_command(
    name: Annotated[str, typer.Argument(help="Report name (see `forensics reports`).")],
    fmt: Annotated[str | None, typer.Option("--format", "-F", help="table | csv | json | html "
                   "(default: from -o's extension, else table on a terminal, json in a pipe).",
                   show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.",
                      show_default=False)] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    queries: QueriesOption = None,
    filter_expr: FilterOption = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Report parameter NAME=VALUE "
                     "(repeatable).", show_default=False)] = None,
    start: Annotated[str | None, typer.Option("--from", help="Window start, e.g. 2016-09-06T00:00:00Z.",
                     show_default=False)] = None,
    end: Annotated[str | None, typer.Option("--to", "--end", help="Window end (exclusive); with --period, "
                   "the period's end.", show_default=False)] = None,
    period: Annotated[str | None, typer.Option("--period", help="daily | weekly | monthly | quarterly | "
                      "yearly, ending at --end.", show_default=False)] = None,
    bin_size: Annotated[str | None, typer.Option("--bin", help="Bin size (300, 5min, 2h, 1d); default from "
                        "the window: <=24h 5min, <=7d 30min, <=3 months 2h, else 1d.", show_default=False)] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="bps or pps (average over the bin).",
                    show_default=False)] = None,
    ip_version: Annotated[str, typer.Option("--ip-version", help="4, 6 or both.")] = "both",
    top: Annotated[int | None, typer.Option("--top", "-n", help="Items in the top-N (others go to 'Others').",
                   show_default=False)] = None,
    scope: Annotated[str, typer.Option("--scope", help="any | home | boundary | subnetwork:NAME | farm:NAME | "
                     "filter:NAME | business | after_hours.")] = "any",
) -> None:
    """Run a report on the case and print it as a table, CSV, JSON (GenieATM envelope) or an HTML page.

    Example: forensics report wannacry --period daily --end 2016-09-07T00:00:00Z --format html -o wc.html
    """
    chosen = _format(fmt, output)
    try:
        from forensics.render import render
        from forensics.reports import run_report
        from forensics.store import Case

        params: dict[str, object] = _params(param)
        for key, value in (("from", start), ("to", end), ("period", period), ("bin", bin_size),
                           ("unit", unit), ("ip_version", ip_version), ("top", top), ("scope", scope)):
            if value is not None:
                params[key] = value
        from forensics.config import load_config

        path = db_path(db)
        case_config = load_config(config, path)
        with Case.open(path, read_only=True) as case:
            result = run_report(case, name, params, config=case_config, queries_dirs=tuple(queries or ()),
                                filter_expr=filter_expr)
        text = render(result, chosen, output_file=str(output) if output else None)
    except ForensicsError as exc:
        if chosen != "json":
            raise
        from forensics.render import render_error_json

        print(render_error_json(str(exc), exc.exit_code, type(exc).__name__), end="")
        raise typer.Exit(exc.exit_code) from None
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


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
