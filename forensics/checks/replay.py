"""Replay a Python check's flow hooks offline, in flow time, and collect the alerts it raises.

The events (which flows each hook receives, and when) are defined in SQL, queries/checks/_replay.sql, and
read in time order in slices of BATCH_ROWS events: within a slice, each hook the check defines is called once
with its events of the slice (in time order), in the order protocol_detected, status_changed,
periodic_update, flow_end. So Python holds at most one slice; DuckDB sorts (and spills) the rest.

`flows` is a pyarrow.Table: the flows table's columns (addresses as text such as '10.1.1.66', times as
timestamp[us, tz=UTC]) plus `hook`, `event_ts` (when the hook fires) and `app` (the application label).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from forensics.checks.loader_py import HOOKS, PyCheck, error_line
from forensics.config import CaseConfig
from forensics.errors import DefinitionError
from forensics.netaddr import ip_to_int
from forensics.resources import read_sql

REPLAY_SQL = "checks/_replay.sql"
# Events per slice handed to the hooks: large enough that a hook's per-call cost is amortised (vectorised
# pyarrow work on 64 Ki rows), small enough that a slice of ~35 columns stays a few tens of MB.
BATCH_ROWS = 65_536
TICK_SECS = 300  # ntopng's periodicUpdate: every 5 minutes


def _naive_utc(value: object, what: str) -> dt.datetime:
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp
        value = value.to_pydatetime()
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        raise TypeError(f"ctx.alert: {what} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


@dataclass
class CheckContext:
    """What a hook may ask: params, the case config, is_home(ip), and alert(...) to raise an alert."""

    params: dict
    config: CaseConfig
    unit: str = "count"
    alerts: list[dict] = field(default_factory=list)
    on_alert: Callable[[dict], None] | None = None

    def is_home(self, ip: str) -> bool:
        """Whether the address (text) is in a home network of the case config."""
        value = ip_to_int(str(ip))
        return any(n.lo <= value <= n.hi for n in self.config.home)

    def alert(self, entity: object, window_start: object, window_end: object, value: float, threshold: float,
              detail: str | None = None, evidence: str | None = None) -> None:
        """Raise an alert: stored like a SQL check's row (evidence: a tcpdump expression, used with the window)."""
        row = {"entity": str(entity), "window_start": _naive_utc(window_start, "window_start"),
               "window_end": _naive_utc(window_end, "window_end"),
               "value": None if value is None else float(value),
               "threshold": None if threshold is None else float(threshold),
               "unit": self.unit, "detail": detail or "", "evidence": evidence or "", "series": "[]",
               "band_lo": None, "band_hi": None}
        self.alerts.append(row)
        if self.on_alert is not None:
            self.on_alert(row)


def _utc(batch: pa.RecordBatch) -> pa.Table:
    """Naive timestamps (UTC by the case's convention) -> timestamp[us, tz=UTC], values unchanged."""
    columns, fields = [], []
    for f, col in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(f.type) and f.type.tz is None:
            col = col.cast(pa.timestamp("us")).view(pa.timestamp("us", tz="UTC"))
            f = pa.field(f.name, col.type)
        columns.append(col)
        fields.append(f)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def replay_batches(con: duckdb.DuckDBPyConnection, hooks: list[str], lo: dt.datetime, hi: dt.datetime,
                   batch_rows: int = BATCH_ROWS) -> Iterator[tuple[str, pa.Table]]:
    """Yield (hook, flows) in replay order for the given hooks (queries/checks/_replay.sql)."""
    reader = con.sql(read_sql(REPLAY_SQL), params={"lo": lo, "hi": hi, "hooks": list(hooks),
                                                   "tick_secs": TICK_SECS}).to_arrow_reader(batch_rows)
    for batch in reader:
        table = _utc(batch)
        for hook in HOOKS:
            if hook in hooks:
                part = table.filter(pc.equal(table["hook"], hook))
                if part.num_rows:
                    yield hook, part


def run_python_check(con: duckdb.DuckDBPyConnection, check: PyCheck, params: dict, config: CaseConfig,
                     lo: dt.datetime, hi: dt.datetime, debug: Callable[[str, object], None] | None = None,
                     batch_rows: int = BATCH_ROWS) -> list[dict]:
    """Replay `check`'s hooks over [lo, hi) and return the alert rows it raised.

    An exception in a hook is a DefinitionError naming the file and line (the check is then skipped).
    `debug(kind, payload)` receives ('hook', (name, flows)) before each call and ('alert', row) as raised.
    """
    ctx = CheckContext(dict(params), config, check.unit,
                       on_alert=(lambda row: debug("alert", row)) if debug is not None else None)
    try:
        for hook, flows in replay_batches(con, list(check.hooks), lo, hi, batch_rows):
            if debug is not None:
                debug("hook", (hook, flows))
            try:
                check.hooks[hook](flows, ctx)
            except Exception as exc:  # noqa: BLE001 -- the analyst's code: reported with its line, check skipped
                raise DefinitionError(check.path, error_line(exc, check.path),
                                      f"{hook} raised {type(exc).__name__}: {exc}") from None
    except duckdb.Error as exc:
        raise DefinitionError(check.path, None, f"the replay query ({REPLAY_SQL}) failed: "
                                                f"{str(exc).strip().splitlines()[0]}") from None
    return ctx.alerts
