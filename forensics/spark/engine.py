"""Reports and checks on Spark: the same runners as on DuckDB, over a SparkConnection.

The runners (forensics.reports.runner.run_report, forensics.checks.runner.run_checks) do the window, scope,
binning, shaping, coverage and notes; every statement they issue runs on Spark (forensics.spark.connection),
so only the engine differs. Alerts are stored in the case (DuckDB) as on the default engine.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from forensics.checks.loader_py import PyCheck
from forensics.checks.result import CheckRun
from forensics.config import CaseConfig, load_config
from forensics.reports.result import ReportResult
from forensics.reports.runner import list_reports, run_report
from forensics.resources import queries_dir
from forensics.spark.connection import SparkConnection
from forensics.spark.session import spark_session

# Bundled helper SQL the runners read (errors in them are named file:line too).
_HELPERS = ("schema/macros.sql", "reports/_context.sql", "reports/_packet_bins.sql", "runs/coverage.sql",
            "checks/_context.sql", "checks/_check_rows.sql", "checks/_misuse_bins.sql")


class _SparkCase:
    """What the runners need of a Case: `con` (here on Spark) and `path`."""

    def __init__(self, con: SparkConnection, path: str) -> None:
        self.con = con
        self.path = path


def _body_line(path: str, sql: str) -> int:
    try:
        total = len(Path(path).read_text(encoding="utf-8").splitlines())
    except OSError:
        return 1
    return max(1, total - sql.rstrip("\n").count("\n"))


def _connection(case: object, spark: object | None, master: str | None) -> SparkConnection:
    con = SparkConnection(case.con, str(getattr(case, "path", ":memory:")), spark or spark_session(master))
    for rel in _HELPERS:
        path = queries_dir() / rel
        con.name_source(path.read_text(encoding="utf-8"), str(path), 1)
    con.execute(str((queries_dir() / "schema/macros.sql").read_text(encoding="utf-8")))
    return con


def _name_definitions(con: SparkConnection, definitions: list) -> None:
    for d in definitions:
        if getattr(d, "sql", None):
            con.name_source(d.sql, d.path, _body_line(d.path, d.sql))


def spark_report(case: object, name: str, params: dict | None = None, *, config: CaseConfig | None = None,
                 queries_dirs: tuple | list = (), filter_expr: str | None = None, spark: object | None = None,
                 master: str | None = None) -> ReportResult:
    """run_report on Spark (`spark`: a SparkSession, else one from `master` / SPARK_* / local[*])."""
    if config is None:
        config = load_config(None, getattr(case, "path", None))
    con = _connection(case, spark, master)
    try:
        catalog = list_reports((*config.queries_dirs, *queries_dirs))
        _name_definitions(con, [catalog[n] for n in catalog.names()])
        return run_report(_SparkCase(con, case.path), name, params, config=config, queries_dirs=queries_dirs,
                          filter_expr=filter_expr)
    finally:
        con.close()


def spark_checks(case: object, names: list[str] | None = None, *, start: object = None, end: object = None,
                 params: dict | None = None, config: CaseConfig | None = None, queries_dirs: tuple | list = (),
                 progress: Callable[[str, int, int], None] | None = None, spark: object | None = None,
                 master: str | None = None) -> CheckRun:
    """run_checks on Spark for the SQL checks (a Python check's hooks run on DuckDB only: it is reported in
    the run's errors and skipped); alerts are stored in the case as usual. `case` is open for writing."""
    from forensics.checks.runner import resolve, run_checks

    if config is None:
        config = load_config(None, getattr(case, "path", None))
    definitions, _, _, _ = resolve(names, params, config, queries_dirs)
    con = _connection(case, spark, master)
    try:
        _name_definitions(con, definitions)
        sql_names = [d.name for d in definitions if not isinstance(d, PyCheck)]
        skipped = [d for d in definitions if isinstance(d, PyCheck)]
        run = run_checks(_SparkCase(con, case.path), sql_names, start=start, end=end, params=params, config=config,
                         queries_dirs=queries_dirs, progress=progress) if sql_names else None
    finally:
        con.close()
    notes = [f"{d.path}: {d.name} is a Python check; its hooks run on --engine duckdb only (skipped)"
             for d in skipped]
    if run is None:
        from forensics.checks.runner import _window  # the range the run would have covered

        lo, hi = _window(case.con, start, end)
        return CheckRun(lo, hi, [], [], "", notes)
    run.errors.extend(notes)
    return run
