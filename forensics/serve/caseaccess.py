"""The case as the server reads it: one read-only connection per request, queries run off the event loop and
interrupted when the client goes away.

DuckDB opens the database read-only (`Case.open(read_only=True)`): any statement that would write is refused
by DuckDB itself, whatever a report's SQL says. Each request has its own connection, so the TEMP tables a report
run creates (config context, restricted flows) never meet another request's; opening one costs about 25 ms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.requests import Request

from forensics.config import CaseConfig
from forensics.render.jsonout import iso_z
from forensics.resources import read_sql
from forensics.store import Case

T = TypeVar("T")
# How often a running query checks whether its client is still there (seconds).
DISCONNECT_POLL = 0.2
# Rows of the alerts table a page or API answer shows at most.
ALERTS_LIMIT = 1000


@dataclass
class CaseSource:
    """Where the server's case is and how it is configured (fixed for the server's life)."""

    db: str
    config: CaseConfig
    queries_dirs: tuple[str, ...] = ()

    def open(self) -> Case:
        """A new read-only connection to the case."""
        return Case.open(self.db, read_only=True)


async def run_cancellable(request: Request | None, source: CaseSource, work: Callable[[Case], T]) -> T:
    """Run work(case) on a worker thread with its own read-only connection; interrupt the query if the
    client disconnects meanwhile (DuckDB's interrupt makes the running statement fail at once)."""
    case = await anyio.to_thread.run_sync(source.open)
    done = anyio.Event()

    async def watch() -> None:
        while not done.is_set():
            if request is not None and await request.is_disconnected():
                case.con.interrupt()
                return
            with anyio.move_on_after(DISCONNECT_POLL):
                await done.wait()

    outcome: dict = {}
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(watch)
            try:
                outcome["value"] = await anyio.to_thread.run_sync(work, case)
            except Exception as exc:  # raised below, outside the task group (which would wrap it in a group)
                outcome["error"] = exc
            finally:
                done.set()
    finally:
        case.close()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return iso_z(value.replace(tzinfo=None) if value.tzinfo is None else
                     value.astimezone(dt.timezone.utc).replace(tzinfo=None))
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2 ** 63:
        return str(value)  # UHUGEINT addresses and the like: JSON numbers lose them
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def alerts_present(case: Case) -> bool:
    """Whether the case has an `alerts` table."""
    return bool(case.con.execute(read_sql("serve/alerts_present.sql")).fetchone()[0])


def list_alerts(case: Case, limit: int = ALERTS_LIMIT, offset: int = 0) -> dict:
    """{'present', 'total', 'columns', 'rows'}: rows of table `alerts` as stored (JSON-safe), if it exists."""
    if not alerts_present(case):
        return {"present": False, "total": 0, "columns": [], "rows": []}
    total = case.con.execute(read_sql("serve/alerts_count.sql")).fetchone()[0]
    cur = case.con.execute(read_sql("serve/alerts.sql"), {"limit": limit, "offset": offset})
    columns = [d[0] for d in cur.description]
    rows = [dict(zip(columns, (_jsonable(v) for v in row), strict=True)) for row in cur.fetchall()]
    return {"present": True, "total": int(total), "columns": columns, "rows": rows}


def list_captures(case: Case) -> list[dict]:
    """Every imported file with its provenance (sha256, size, time range, counts), JSON-safe."""
    cur = case.con.execute(read_sql("info/captures.sql"))
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, (_jsonable(v) for v in row), strict=True)) for row in cur.fetchall()]


def list_coverage(case: Case) -> dict:
    """{'spans', 'rejected_files'}: what each capture covers per interface (queries/serve/coverage.sql) and the
    files refused whole at import, JSON-safe."""
    def rows(name: str) -> list[dict]:
        cur = case.con.execute(read_sql(name))
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, (_jsonable(v) for v in row), strict=True)) for row in cur.fetchall()]

    return {"spans": rows("serve/coverage.sql"), "rejected_files": rows("serve/rejected_files.sql")}
