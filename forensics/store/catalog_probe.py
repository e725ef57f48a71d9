"""Which tables and views the case's catalog holds, asked once for the length of a report run.

A report asks the catalog the same questions many times (does the case have the retention tables, the lake's
views and part list, flow_app, the drop counters?): each a query of DuckDB's catalog functions, 0.8-1.0 ms, ten
of them per report. A run creates only TEMP objects, so the catalog's persistent objects stay as they were when
it began: `steady_catalog(con)` takes them once (one query) and `persistent_objects(con)` answers from that
within it. Outside it (or on another engine's connection) `persistent_objects` returns None and the callers ask
as before. TEMP objects are never taken from the snapshot: a run makes and drops them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import duckdb


@dataclass(frozen=True)
class Objects:
    """The persistent tables and views of the connection's current database, schema main, and its drop counter
    columns (interfaces.isb_ifdrop, isb_osdrop, isb_starttime, isb_endtime, present in a case made since them)."""

    tables: frozenset[str]
    views: frozenset[str]
    drop_columns: int


_TAKEN: dict[int, Objects] = {}
_ANSWERS: dict[int, dict[str, object]] = {}
T = TypeVar("T")

_SNAPSHOT_SQL = """
SELECT (SELECT list(table_name) FROM duckdb_tables()
        WHERE NOT temporary AND schema_name = 'main' AND database_name = current_database()),
       (SELECT list(view_name) FROM duckdb_views()
        WHERE NOT temporary AND schema_name = 'main' AND database_name = current_database()),
       (SELECT count(*) FROM duckdb_columns()
        WHERE schema_name = 'main' AND database_name = current_database()
          AND table_name = 'interfaces'
          AND column_name IN ('isb_ifdrop', 'isb_osdrop', 'isb_starttime', 'isb_endtime'))
"""


@contextlib.contextmanager
def steady_catalog(con: object) -> Iterator[None]:
    """Within it, persistent_objects(con) answers from one look at the catalog (nested: the outer one's)."""
    key = id(con)
    if not isinstance(con, duckdb.DuckDBPyConnection) or key in _TAKEN:
        yield
        return
    tables, views, drops = con.execute(_SNAPSHOT_SQL).fetchone()
    _TAKEN[key] = Objects(frozenset(tables or ()), frozenset(views or ()), int(drops))
    _ANSWERS[key] = {}
    try:
        yield
    finally:
        _TAKEN.pop(key, None)
        _ANSWERS.pop(key, None)


def persistent_objects(con: object) -> Objects | None:
    """The snapshot steady_catalog took of `con`, or None outside one."""
    return _TAKEN.get(id(con))


def remembered(con: object, question: str, ask: Callable[[], T]) -> T:
    """ask(), or within steady_catalog(con) the first answer to `question` (a fact of the persistent catalog or its
    settings, such as the lake's part list or root: the same for the whole run)."""
    answers = _ANSWERS.get(id(con))
    if answers is None:
        return ask()
    if question not in answers:
        answers[question] = ask()
    return answers[question]  # type: ignore[return-value]


__all__ = ["Objects", "persistent_objects", "remembered", "steady_catalog"]
