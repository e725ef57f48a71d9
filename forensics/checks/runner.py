"""Run check definitions (queries/checks/*.sql) on a case and store their alerts.

Output contract of a check query: one row per offending (entity, window) with
    entity        VARCHAR    the IP address as text, or an object ('subnetwork:lab in')
    window_start  TIMESTAMP  start of the offending window (UTC)
    window_end    TIMESTAMP  end of the window (exclusive)
    value         DOUBLE     the measured value, in `unit`
    threshold     DOUBLE     the limit it crossed
    unit          VARCHAR    bps, pps, count, bytes, packets ...
    detail        VARCHAR    one line for the analyst
    evidence      VARCHAR    a tcpdump expression selecting the packets/flows (used with the window)
and optionally series (LIST of STRUCT(t TIMESTAMP, v DOUBLE): per-bin values around the window), band_lo,
band_hi (DOUBLE: the band shown beside the alert).
Parameter values, lowest precedence first: the declared default, the case config's business hours (after_hours),
[checks.<check>] in the case config, --param CHECK.KEY=VALUE.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from forensics.checks.catalog import build_catalog, config_checks_dirs
from forensics.checks.config import WINDOW_PARAMS, ChecksConfig, load_checks_config
from forensics.checks.context import install_check_context
from forensics.checks.loader_py import PyCheck
from forensics.checks.replay import run_python_check
from forensics.checks.result import Alert, CheckRun, CheckSummary, iso_z
from forensics.config import DAYS, CaseConfig, load_config
from forensics.errors import DefinitionError, UsageError
from forensics.reports.scopes import build_flow_filters
from forensics.resources import queries_dir, read_sql
from forensics.sqlfiles import Catalog, Definition, parse_timestamp
from forensics.store.alerts import list_alerts, replace_alerts
from forensics.store.lake_stats import parts_pinned, time_range

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REQUIRED_COLUMNS = ("entity", "window_start", "window_end", "value", "threshold")
# Optional columns a check may leave out: unit (then the header's `-- unit:`), detail and evidence (then empty).
OPTIONAL_COLUMNS = ("unit", "detail", "evidence")
_TYPED = {"VARCHAR": duckdb.StringValue, "INTEGER": duckdb.IntegerValue, "BIGINT": duckdb.LongValue,
          "DOUBLE": duckdb.DoubleValue, "BOOLEAN": duckdb.BooleanValue, "TIMESTAMP": duckdb.TimestampValue}


def bundled_checks_dir() -> Path:
    """The shipped `queries/checks/` folder."""
    return queries_dir() / "checks"


def list_checks(queries_dirs: tuple | list = ()) -> Catalog:
    """Every check: the bundled ones, then each user folder (.sql, .py, plugin folders; a later folder overrides
    by name). Files that do not load are in `.errors` (file:line, why)."""
    return build_catalog(bundled_checks_dir(), queries_dirs)


def parse_param_args(pairs: list[str] | None) -> dict[str, dict[str, str]]:
    """['syn_flood.home_pps=50', ...] -> {'syn_flood': {'home_pps': '50'}}."""
    out: dict[str, dict[str, str]] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        check, dot, name = key.strip().partition(".")
        if not sep or not dot or not check or not name:
            raise UsageError(f"--param {pair!r}: write CHECK.KEY=VALUE, e.g. --param syn_flood.home_pps=500")
        out.setdefault(check, {})[name] = value
    return out


def _business_hours(config: CaseConfig) -> dict[str, str]:
    """after_hours' hours/days/timezone from [business_hours] (timezone: an IANA name, default UTC)."""
    bh = config.business_hours
    tz = getattr(bh, "timezone", None)
    if tz is None and config.text:
        try:
            tz = tomllib.loads(config.text).get("business_hours", {}).get("timezone")
        except (tomllib.TOMLDecodeError, AttributeError):
            tz = None
    return {"hours": f"{bh.start_min // 60:02d}:{bh.start_min % 60:02d}-{bh.end_min // 60:02d}:{bh.end_min % 60:02d}",
            "days": ",".join(DAYS[d] for d in bh.days), "timezone": str(tz or "UTC")}


def _bind(definition: Definition, layers: list[dict], window: dict, where: list[str]) -> dict:
    values: dict[str, object] = {}
    for param in definition.params:
        if param.name in WINDOW_PARAMS:
            values[param.name] = window[param.name]
            continue
        value, found = param.default, param.has_default
        for layer, label in zip(layers, where, strict=True):
            if param.name in layer:
                try:
                    value, found = param.coerce(layer[param.name]), True
                except ValueError as exc:
                    raise UsageError(f"check {definition.name}: {label} {param.name}: {exc}") from None
        if not found:
            raise UsageError(f"check {definition.name}: parameter {param.name} ({param.type}) needs a value: "
                             f"--param {definition.name}.{param.name}=...")
        values[param.name] = value
    return values


def _data_range(con: duckdb.DuckDBPyConnection,
                found: tuple | None = None) -> tuple[dt.datetime, dt.datetime] | None:
    """The case's time span, widened to whole hours: [first hour start, last hour end). `found`: the span a lake's
    footers gave (lake_stats.time_range), else a scan."""
    lo, hi = found if found is not None else con.execute(
        "SELECT least((SELECT min(ts) FROM packets), (SELECT min(first_ts) FROM flows)), "
        "greatest((SELECT max(ts) FROM packets), (SELECT max(first_ts) FROM flows))").fetchall()[0]
    if lo is None:
        return None
    start = lo.replace(minute=0, second=0, microsecond=0)
    end = hi.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    return start, end


def _series(value: object) -> str:
    points = [[iso_z(p["t"]), None if p["v"] is None else float(p["v"])] for p in (value or [])]
    return json.dumps(points)


def _body_line(definition: Definition) -> int:
    """The file line where the SQL body starts (DuckDB's 'LINE n' counts from there)."""
    try:
        total = len(Path(definition.path).read_text(encoding="utf-8").splitlines())
    except OSError:
        return 1
    return max(1, total - definition.sql.count("\n"))


def _sql_error(definition: Definition, exc: Exception) -> DefinitionError:
    text = str(exc).strip()
    found = re.search(r"LINE (\d+):", text)
    line = _body_line(definition) + int(found.group(1)) - 1 if found else _body_line(definition)
    return DefinitionError(definition.path, line, f"query failed: {text.splitlines()[0] if text else exc}")


def _is_bundled(definition: Definition) -> bool:
    return Path(definition.path).parent == bundled_checks_dir()


def _readonly_select(con: duckdb.DuckDBPyConnection, definition: Definition) -> None:
    """A user's SQL check is one SELECT (no INSERT, CREATE, COPY, ...), and runs with file access off."""
    try:
        statements = con.extract_statements(definition.sql)
    except duckdb.Error as exc:
        raise _sql_error(definition, exc) from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise DefinitionError(definition.path, _body_line(definition),
                              "a check is one SELECT statement (it runs read-only); found "
                              f"{len(statements)} statement(s) of type "
                              f"{', '.join(s.type.name for s in statements) or 'none'}")
    con.execute("SET enable_external_access = false")  # no read_csv, COPY, ATTACH for the rest of this run


def _run_one(con: duckdb.DuckDBPyConnection, definition: Definition, bound: dict) -> list[dict]:
    if not _is_bundled(definition):
        _readonly_select(con, definition)
    typed = {k: (v if v is None else _TYPED[definition.param(k).type](v)) for k, v in bound.items()}
    try:
        cursor = con.execute(definition.sql, typed)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    except duckdb.Error as exc:
        raise _sql_error(definition, exc) from None
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DefinitionError(definition.path, _body_line(definition),
                              f"the query returns no column(s) {', '.join(missing)} (a check returns entity, "
                              "window_start, window_end, value, threshold; optionally unit, detail, evidence)")
    out = []
    for row in rows:
        d = dict(zip(columns, row, strict=True))
        try:
            out.append({"entity": str(d["entity"]), "window_start": _timestamp(d["window_start"]),
                        "window_end": _timestamp(d["window_end"]),
                        "value": None if d["value"] is None else float(d["value"]),
                        "threshold": None if d["threshold"] is None else float(d["threshold"]),
                        "unit": d.get("unit") or definition.unit, "detail": d.get("detail") or "",
                        "evidence": d.get("evidence") or "",
                        "series": _series(d.get("series")), "band_lo": d.get("band_lo"), "band_hi": d.get("band_hi")})
        except (TypeError, ValueError) as exc:
            raise DefinitionError(definition.path, _body_line(definition), f"a result row is not an alert: {exc} "
                                  "(window_start/window_end are timestamps, value/threshold numbers)") from None
    return out


def _timestamp(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    raise TypeError(f"{value!r} is not a timestamp")


def _window(con: duckdb.DuckDBPyConnection, start: object, end: object,
            found: tuple | None = None) -> tuple[dt.datetime, dt.datetime]:
    data = _data_range(con, found)
    try:
        lo = parse_timestamp(start) if start is not None else (data[0] if data else None)
        hi = parse_timestamp(end) if end is not None else (data[1] if data else None)
    except ValueError as exc:
        raise UsageError(f"--from/--to: {exc}; write e.g. 2026-03-10T00:00:00Z") from None
    if lo is None or hi is None:
        now = dt.datetime(1970, 1, 1)
        lo, hi = lo or now, hi or now + dt.timedelta(hours=1)
    if hi <= lo:
        raise UsageError(f"--from {iso_z(lo)} is not before --to {iso_z(hi)}")
    return lo, hi


def resolve(names: list[str] | None, params: dict | None, config: CaseConfig,
            queries_dirs: tuple | list = ()) -> tuple[list[Definition | PyCheck], ChecksConfig, dict, list]:
    """The checks to run, the checks config, the --param values validated by check and key, and the checks that
    did not load (DefinitionError entries: reported and skipped)."""
    catalog = list_checks([*config_checks_dirs(config), *queries_dirs])
    chosen = list(names or catalog.names())
    unknown = [n for n in chosen if n not in catalog]
    if unknown:
        broken = f"; not loaded: {'; '.join(str(e) for e in catalog.errors)}" if catalog.errors else ""
        raise UsageError(f"no check called {', '.join(unknown)} (known: {', '.join(catalog.names())}); "
                         f"see `forensics check --list`{broken}")
    checks_config = load_checks_config(config, catalog.definitions)
    given = dict(params or {})
    for check, values in given.items():
        if check not in catalog:
            raise UsageError(f"--param {check}.*: no check called {check!r} (known: {', '.join(catalog.names())})")
        declared = [p.name for p in catalog[check].params if p.name not in WINDOW_PARAMS]
        for key in values:
            if key not in declared:
                raise UsageError(f"--param {check}.{key}: not a parameter of {check} (known: {', '.join(declared)})")
    return [catalog[n] for n in chosen], checks_config, given, list(catalog.errors)


def run_checks(case: object, names: list[str] | None = None, *, start: object = None, end: object = None,
               params: dict | None = None, config: CaseConfig | None = None,
               queries_dirs: tuple | list = (), progress: Callable[[str, int, int], None] | None = None,
               debug: Callable[[str, str, object], None] | None = None) -> CheckRun:
    """Run the named checks (all by default) over [start, end) (default: the case's span in whole hours) on a
    write-open Case, replace each check's alerts whose window starts in that range, and return the run.

    `params` is {check: {key: value}} (strings are coerced to the declared types); `progress(name, i, n)` is
    called before each check runs; `debug(check, kind, payload)` sees each hook call of a Python check
    ('hook', (hook, flows)) and each alert as raised ('alert', row), and each SQL check's rows ('rows', rows).
    A check that fails (bad SQL, missing columns, an exception in a hook) is skipped: its alerts stay as they
    were, and the run's `errors` name it with file:line.

    On a lake the flows and packets are read part by part for the run (lake_stats.parts_pinned: TEMP views that
    shadow the catalog's read-only views `flows` and `packets`, dropped after; the alerts are written to the
    catalog's own table as always).
    """
    span = time_range(case.con)  # a lake's span from its footers (before the TEMP views below shadow the catalog's)
    with parts_pinned(case.con):
        return _run_checks(case, names, start, end, params, config, queries_dirs, progress, debug, span)


def _run_checks(case: object, names: list[str] | None, start: object, end: object, params: dict | None,
                config: CaseConfig | None, queries_dirs: tuple | list,
                progress: Callable[[str, int, int], None] | None,
                debug: Callable[[str, str, object], None] | None, span: tuple | None) -> CheckRun:
    con = case.con
    if config is None:
        config = load_config(None, getattr(case, "path", None))
    definitions, checks_config, given, errors = resolve(names, params, config, queries_dirs)
    lo, hi = _window(con, start, end, span)
    install_check_context(con, config, checks_config)
    needs = {n for d in definitions for n in d.needs}
    if "flow_filters" in needs:
        build_flow_filters(con, config)  # _flow_filters(flow_id, name): the flows each config filter matches
    con.execute("CREATE OR REPLACE TEMP TABLE _check_range AS SELECT $lo::TIMESTAMP AS lo, $hi::TIMESTAMP AS hi",
                {"lo": lo, "hi": hi})
    for name in sorted(needs - {"flow_filters"}, key=lambda n: (n != "check_rows", n)):  # check_rows feeds others
        try:
            con.execute(read_sql(f"checks/_{name}.sql"))
        except FileNotFoundError:
            raise UsageError(f"a check needs {name!r}: no queries/checks/_{name}.sql (known: misuse_bins, check_rows, "
                             "flow_filters)") from None
    business = _business_hours(config)
    summaries: list[CheckSummary] = []
    ids: list[int] = []
    for i, definition in enumerate(definitions):
        if progress is not None:
            progress(definition.name, i, len(definitions))
        t = time.perf_counter()
        standard = business if definition.name == "after_hours" else {}
        bound = _bind(definition, [standard, checks_config.params.get(definition.name, {}),
                                   given.get(definition.name, {})],
                      {"from_ts": lo, "to_ts": hi},
                      ["[business_hours]", f"{checks_config.source} [checks.{definition.name}]", "--param"])
        shown = {k: v for k, v in bound.items() if k not in WINDOW_PARAMS}
        watch = (lambda kind, payload, n=definition.name: debug(n, kind, payload)) if debug is not None else None
        try:
            if isinstance(definition, PyCheck):
                rows = run_python_check(con, definition, shown, config, lo, hi, watch)
            else:
                rows = _run_one(con, definition, bound)
                if watch is not None:
                    watch("rows", rows)
        except DefinitionError as exc:
            errors.append(exc)
            continue
        for row in rows:
            row.update({"check": definition.name, "severity": definition.severity, "category": definition.category,
                        "params": json.dumps(shown, default=str), "range_start": lo, "range_end": hi})
        ids += replace_alerts(con, definition.name, lo, hi, rows)
        summaries.append(CheckSummary(definition.name, definition.title, definition.severity, definition.category,
                                      shown, len(rows), round(time.perf_counter() - t, 3), definition.path))
    alerts = [Alert.from_row(r) for r in list_alerts(con, min_id=min(ids))] if ids else []
    return CheckRun(lo, hi, summaries, alerts, checks_config.source, [str(e) for e in errors])


def load_alerts(case: object, check: str | None = None, entity: str | None = None,
                alert_id: int | None = None) -> list[Alert]:
    """Stored alerts, in time order (none when the case predates the alerts table)."""
    return [Alert.from_row(r) for r in list_alerts(case.con, check, entity, alert_id)]


def alert_by_id(case: object, alert_id: int) -> Alert:
    """One stored alert; UsageError naming the id when there is none."""
    found = load_alerts(case, alert_id=alert_id)
    if not found:
        raise UsageError(f"no alert {alert_id} in {getattr(case, 'path', 'the case')}; list them with "
                         "`forensics alerts`")
    return found[0]


def alert_selection(case: object, alert_id: int) -> tuple[str, str, dict]:
    """(evidence filter expression, SQL condition on packets.ts for the window, its parameters) of an alert."""
    alert = alert_by_id(case, alert_id)
    return (alert.evidence, "ts >= $alert_from AND ts < $alert_to",
            {"alert_from": alert.window_start, "alert_to": alert.window_end})
