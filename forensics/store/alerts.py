"""The alerts table (queries/schema/alerts.sql): replace a check's alerts over a range, list them, fetch one.

    replace_alerts(case.con, "syn_flood", lo, hi, rows)     # rows: dicts with ALERT_COLUMNS keys
    list_alerts(case.con, check="syn_flood", entity="10.0.0.5")

A case made before the table existed and opened read-only has no `alerts`: listing says there are none.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from forensics.resources import read_sql

ALERTS_SQL = "schema/alerts.sql"
# Columns a check run supplies per alert (id and created_at are set here).
ALERT_COLUMNS = ("check", "severity", "category", "entity", "window_start", "window_end", "value", "threshold",
                 "unit", "detail", "evidence", "series", "band_lo", "band_hi", "params", "range_start", "range_end")
_SELECT = ("id, \"check\", severity, category, entity, window_start, window_end, value, threshold, unit, detail, "
           "evidence, series, band_lo, band_hi, params, range_start, range_end, created_at")


_DOUBLES = ("value", "threshold", "band_lo", "band_hi")
_TIMES = ("window_start", "window_end", "range_start", "range_end")


def _column(name: str, values: list) -> pa.Array:
    if name in _DOUBLES:
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if name in _TIMES:
        return pa.array(values, pa.timestamp("us"))
    return pa.array([None if v is None else str(v) for v in values], pa.string())


def has_alerts_table(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the case has the alerts table (older cases opened read-only do not)."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'alerts' "
                            "AND table_schema = 'main'").fetchall()[0][0])


def ensure_alerts_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create the table if missing (write-open cases get it with the schema; this covers older ones)."""
    if not has_alerts_table(con):
        con.execute(read_sql(ALERTS_SQL))


def replace_alerts(con: duckdb.DuckDBPyConnection, check: str, range_start: dt.datetime, range_end: dt.datetime,
                   rows: list[dict]) -> list[int]:
    """In one transaction: delete `check`'s alerts whose window starts in [range_start, range_end), insert `rows`.

    Returns the new alert ids in the order of `rows`.
    """
    ensure_alerts_table(con)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    cols = ", ".join(f'"{c}"' for c in ALERT_COLUMNS)
    ids: list[int] = []
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute('DELETE FROM alerts WHERE "check" = $c AND window_start >= $lo AND window_start < $hi',
                    {"c": check, "lo": range_start, "hi": range_end}).fetchall()
        if rows:
            # a block of ids from the sequence (one transaction writes alerts at a time), then one insert
            first = con.execute("SELECT nextval('alert_ids')").fetchall()[0][0]
            if len(rows) > 1:
                con.execute("SELECT max(nextval('alert_ids')) FROM range($n)", {"n": len(rows) - 1}).fetchall()
            ids = list(range(first, first + len(rows)))
            table = pa.table({"id": pa.array(ids, pa.int64()),
                              **{c: _column(c, [row.get(c) for row in rows]) for c in ALERT_COLUMNS}})
            con.register("_new_alerts", table)
            try:
                con.execute(f"INSERT INTO alerts (id, {cols}, created_at) SELECT id, {cols}, $now FROM _new_alerts",
                            {"now": now}).fetchall()
            finally:
                con.unregister("_new_alerts")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return ids


def list_alerts(con: duckdb.DuckDBPyConnection, check: str | None = None, entity: str | None = None,
                alert_id: int | None = None, min_id: int | None = None) -> list[dict]:
    """Alerts as dicts (columns of the table), in time order; [] when the case has no alerts table.

    `min_id` keeps ids from it on (ids only grow: a check run's new alerts are those from its first id)."""
    if not has_alerts_table(con):
        return []
    cur = con.execute(
        f"SELECT {_SELECT} FROM alerts WHERE ($c IS NULL OR \"check\" = $c) AND ($e IS NULL OR entity = $e) "
        "AND ($i IS NULL OR id = $i) AND ($m IS NULL OR id >= $m) "
        "ORDER BY window_start, \"check\", entity, id",
        {"c": check, "e": entity, "i": alert_id, "m": min_id})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
