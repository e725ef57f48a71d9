"""`forensics check`: run the checks on the case and store their alerts."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import (
    ConfigOption,
    DbOption,
    EngineOption,
    JsonFlag,
    QuietFlag,
    SparkMasterOption,
    check_engine,
    db_path,
)

QueriesOption = Annotated[
    list[Path] | None,
    typer.Option("--checks", "--queries", help="Folder of your own checks: .sql, .py, plugin folders with "
                 "manifest.toml, fixtures/ (repeatable; overrides by name; see docs/checks.md).",
                 show_default=False),
]


def check_command(
    names: Annotated[list[str] | None, typer.Argument(help="Checks to run (default: all; see --list).",
                                                       show_default=False)] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    queries: QueriesOption = None,
    start: Annotated[str | None, typer.Option("--from", help="Range start (default: the case's first hour).",
                                              show_default=False)] = None,
    end: Annotated[str | None, typer.Option("--to", help="Range end, exclusive (default: after the case's last "
                                            "hour).", show_default=False)] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Check parameter CHECK.KEY=VALUE "
                                                    "(repeatable), e.g. syn_flood.home_pps=500.",
                                                    show_default=False)] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the checks and their parameters; run nothing.")]
    = False,
    test: Annotated[bool, typer.Option("--test", help="Run every fixture (built-in and of --checks folders) and "
                                       "print pass/fail with the differences; exit 1 on a failure.")] = False,
    debug: Annotated[str | None, typer.Option("--debug", help="Run check NAME on the case printing what each "
                                              "hook receives and each alert as raised.", show_default=False)]
    = None,
    quiet: QuietFlag = False,
    engine: EngineOption = "duckdb",
    spark_master: SparkMasterOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Run checks (all by default) over the case and store their alerts; running again over the same range
    replaces each check's alerts there.

    Example: forensics check syn_flood host_sweep --param syn_flood.home_pps=500
    """
    from forensics.checks import list_checks, parse_param_args, run_checks
    from forensics.config import load_config
    from forensics.render.alerts import render_alerts_json, render_alerts_table
    from forensics.store import Case

    check_engine(engine, spark_master)
    if test:
        _run_fixtures(tuple(queries or ()), names, json_out)
        return
    path = db_path(db)
    case_config = load_config(config, path)
    from forensics.checks.catalog import config_checks_dirs

    if list_only:
        _print_list(list_checks((*config_checks_dirs(case_config), *(queries or ()))), json_out)
        return
    if debug is not None:
        names = [debug]
    params = parse_param_args(param)
    if not Path(path).exists():
        from forensics.errors import UsageError

        raise UsageError(f"{path}: no case database here. Import captures first: forensics import PATH")
    on_terminal = not quiet and sys.stderr.isatty()
    with Case.open(path) as case:
        if engine == "spark":
            from forensics.spark import spark_checks

            run = spark_checks(case, list(names or []) or None, start=start, end=end, params=params,
                               config=case_config, queries_dirs=tuple(queries or ()),
                               progress=_progress if on_terminal else None, master=spark_master)
        else:
            run = run_checks(case, list(names or []) or None, start=start, end=end, params=params,
                             config=case_config, queries_dirs=tuple(queries or ()),
                             progress=_progress if on_terminal else None,
                             debug=_debug_print if debug is not None else None)
    if on_terminal:
        sys.stderr.write("\r" + " " * 60 + "\r")
        for s in run.checks:
            print(f"{s.name:<18} {s.alerts:>5} alert{'' if s.alerts == 1 else 's'}  ({s.seconds:.2f} s)",
                  file=sys.stderr)
    sys.stdout.write(render_alerts_json(run.alerts, run) if json_out else render_alerts_table(run.alerts))
    for err in run.errors:
        print(f"forensics: skipped {err}", file=sys.stderr)
    if run.errors:
        raise typer.Exit(1)


def _shown(value: object) -> object:
    import datetime as dt

    from forensics.checks.result import iso_z

    if isinstance(value, dt.datetime):
        return iso_z(value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value)
    return value


def _debug_print(check: str, kind: str, payload: object) -> None:
    """ntopng-style debug run: each hook call (rows, first rows) and each alert as raised."""
    def show(row: dict) -> str:
        return ", ".join(f"{k}={_shown(v)}" for k, v in row.items() if v is not None)

    if kind == "hook":
        hook, flows = payload
        print(f"[{check}] {hook}: {flows.num_rows} flow(s)")
        for row in flows.slice(0, 3).to_pylist():
            print(f"    {show(row)}")
    else:
        rows = payload if kind == "rows" else [payload]
        if kind == "rows":
            print(f"[{check}] query returned {len(rows)} row(s)")
        keys = ("entity", "window_start", "window_end", "value", "threshold", "detail")
        for row in rows:
            print(f"[{check}] alert: {show({k: row[k] for k in keys})}")


def _run_fixtures(dirs: tuple, names: list[str] | None, json_out: bool) -> None:
    from forensics.checks.fixtures import find_fixtures, run_fixture

    fixtures = [f for f in find_fixtures(dirs) if not names or f.check in names or f.name in names]
    results = [run_fixture(f, dirs) for f in fixtures]
    if json_out:
        print(json.dumps({"fixtures": [{"name": r.fixture.name, "check": r.fixture.check, "path": str(r.fixture.path),
                                        "passed": r.passed, "differences": r.differences} for r in results]},
                         indent=2))
    else:
        for r in results:
            print(f"{'PASS' if r.passed else 'FAIL'}  {r.fixture.check:<24} {r.fixture.path}")
            for diff in r.differences:
                print(f"      {diff}")
        failed = sum(not r.passed for r in results)
        print(f"{len(results) - failed} passed, {failed} failed")
    if any(not r.passed for r in results):
        raise typer.Exit(1)


def _progress(name: str, i: int, n: int) -> None:
    sys.stderr.write(f"\rchecking {name} ({i + 1}/{n})".ljust(60))
    sys.stderr.flush()


def _print_list(catalog: object, json_out: bool) -> None:
    from forensics.checks.config import WINDOW_PARAMS

    defs = [catalog[n] for n in catalog.names()]
    if json_out:
        print(json.dumps({"checks": [
            {"name": d.name, "title": d.title, "severity": d.severity, "category": d.category,
             "description": d.description, "unit": d.unit, "path": d.path,
             "params": [{"name": p.name, "type": p.type, "default": p.default} for p in d.params
                        if p.name not in WINDOW_PARAMS]} for d in defs],
            "errors": [str(e) for e in catalog.errors]}, indent=2, default=str))
    else:
        for d in defs:
            print(f"{d.name:<18} {d.severity:<7} {d.title}")
            for p in d.params:
                if p.name not in WINDOW_PARAMS:
                    print(f"{'':<20}--param {d.name}.{p.name}  {p.type} = {p.default!r}")
        for err in catalog.errors:
            print(f"forensics: skipped {err}", file=sys.stderr)
    if catalog.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)
