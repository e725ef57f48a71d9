"""The server reads the case and nothing else: no request changes the database; each request has its own
read-only connection (concurrent reports do not meet), and a client that leaves interrupts its query.
Alerts are listed when the case has an `alerts` table."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time

import anyio
import duckdb
import httpx
import pytest
from fastapi.testclient import TestClient
from serve_helpers import ask

from forensics.config import load_config
from forensics.serve import CaseSource, create_app
from forensics.serve.caseaccess import run_cancellable
from forensics.store import Case
from tests.conftest import copy_case

WINDOW = {"start_time": "2016-09-06 12:00", "end_time": "2016-09-06 14:00"}


def _fingerprint(path):
    """sha256 and mtime of every file of the case (the .duckdb file, or each file of a lake folder)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return [(str(f), hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns) for f in files]


def test_no_request_writes_to_the_case(client, case_path):
    before = _fingerprint(case_path)
    for path in ("/api/report/internet/summary", "/api/report/internet/originasn", "/api/report/filter/compare",
                 "/api/report/sub-network/compare", "/api/report/top_talkers", "/api/report/wannacry"):
        assert ask(client, path, {"display_data": "yes", "filter": "tcp"}).status_code == 200
    for path in ("/", "/report/top_talkers.html", "/api/alerts", "/api/captures", "/api/reports", "/openapi.json"):
        assert client.get(path).status_code == 200
    assert _fingerprint(case_path) == before


@pytest.mark.parametrize("sql", ["CREATE TABLE evil (a INTEGER)", "DELETE FROM flows",
                                 "INSERT INTO import_rejects (path, reason) VALUES ('x', 'y')",
                                 "ATTACH ':memory:' AS other; CREATE TABLE other.t AS SELECT 1; DROP TABLE flows"])
def test_the_connection_a_request_gets_refuses_writes(source, sql):
    def write(case):
        return case.con.execute(sql).fetchall()

    with pytest.raises(duckdb.Error):
        anyio.run(run_cancellable, None, source, write)
    assert anyio.run(run_cancellable, None, source, lambda c: c.con.execute("SELECT count(*) FROM flows").fetchone()
                     )[0] == 300


class _LeavingClient:
    """A request whose client disconnects after `after` seconds (what Starlette sees when a socket closes)."""

    def __init__(self, after: float) -> None:
        self.t0 = time.monotonic()
        self.after = after

    async def is_disconnected(self) -> bool:
        return time.monotonic() - self.t0 > self.after


def test_a_client_that_leaves_interrupts_its_query(source):
    slow = "SELECT sum(hash(range)) FROM range(20000000000)"  # minutes of work if left alone
    t0 = time.monotonic()
    with pytest.raises(duckdb.InterruptException):
        anyio.run(run_cancellable, _LeavingClient(0.5), source, lambda c: c.con.execute(slow).fetchall())
    assert time.monotonic() - t0 < 10


def test_concurrent_reports_each_get_their_own_answer(source, client):
    paths = ["/api/report/internet/summary", "/api/report/internet/originasn", "/api/report/filter/compare",
             "/api/report/sub-network/compare", "/api/report/top_talkers", "/api/report/top_ports"] * 2
    request = json.dumps({"report_datetime": WINDOW, "display_data": "yes"})
    alone = {p: ask(client, p, request).json()["response"]["result"]["data"]["data"] for p in set(paths)}

    async def together():
        transport = httpx.ASGITransport(app=create_app(source))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await asyncio.gather(*(c.get(p, params={"request": request}) for p in paths))

    for path, r in zip(paths, asyncio.run(together()), strict=True):
        assert r.status_code == 200, r.text
        assert r.json()["response"]["result"]["data"]["data"] == alone[path]


def _case_copy(case_path, folder):
    path = folder / "case.duckdb"
    copy_case(case_path, path)
    Case.open(path).close()  # a copied lake's views are rebuilt for its new place now, not by the server's first open
    shutil.copy(case_path.parent / "forensics.toml", folder / "forensics.toml")
    return path


@pytest.fixture(scope="module")
def alert_case(case_path, tmp_path_factory):
    """A copy of the case with 25 alerts in the case's own alerts table (queries/schema/alerts.sql)."""
    path = _case_copy(case_path, tmp_path_factory.mktemp("alerts"))
    con = duckdb.connect(str(path))
    con.executemany("INSERT INTO alerts (id, \"check\", severity, entity, window_start, window_end, value, created_at) "
                    "VALUES (?, ?, 'high', ?, ?, ?, ?, now()::TIMESTAMP)",
                    [(i, f"rule<{i % 3}>", f"10.0.0.{i}", f"2016-09-06 12:{i:02d}:00", f"2016-09-06 12:{i:02d}:30",
                      i / 10) for i in range(25)])
    con.close()
    return path


def test_alerts_are_listed_when_the_case_has_them(alert_case):
    source = CaseSource(str(alert_case), load_config(None, str(alert_case)))
    with TestClient(create_app(source), raise_server_exceptions=False) as c:
        data = c.get("/api/alerts", params={"limit": 10, "offset": 20}).json()["response"]["result"]["data"]
        assert data["present"] and data["total"] == 25
        assert data["columns"][:5] == ["id", "check", "severity", "category", "entity"]
        assert [r["id"] for r in data["rows"]] == [20, 21, 22, 23, 24]
        assert data["rows"][0]["window_start"] == "2016-09-06T12:20:00Z"
        assert c.get("/api/report/alerts").json()["response"]["result"]["data"]["total"] == 25
        page = c.get("/").text
        assert "Alerts (25)" in page and "rule&lt;1&gt;" in page and "rule<1>" not in page


def test_a_case_without_alerts_says_so(case_path, tmp_path):
    """A case made before detection existed has no alerts table."""
    path = _case_copy(case_path, tmp_path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE alerts")
    con.close()
    source = CaseSource(str(path), load_config(None, str(path)))
    with TestClient(create_app(source), raise_server_exceptions=False) as c:
        data = c.get("/api/alerts").json()["response"]["result"]["data"]
    assert data == {"present": False, "total": 0, "columns": [], "rows": [], "report": "Forensics>Alerts",
                    "notes": ["this case has no alerts table (no detection has run on it)"]}


SLOW_REPORT = """-- name: slow_count
-- title: Slow count
-- description: flows, after seconds of pointless work (a long query)
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- dimensions: what
-- measures: flows
-- unit: count
WITH busy AS (SELECT sum(hash(range)) AS h FROM range(150000000))
SELECT 1 AS rank, 'flows' AS what, NULL::TIMESTAMP AS bin, count(*) + 0 * min(b.h) AS flows
FROM flows, busy b WHERE first_ts >= $from_ts AND first_ts < $to_ts
"""


def test_a_long_query_does_not_hold_up_other_requests(case_path, tmp_path):
    (tmp_path / "slow_count.sql").write_text(SLOW_REPORT)
    source = CaseSource(str(case_path), load_config(None, str(case_path)), (str(tmp_path),))
    done: list[str] = []

    async def timed(c, name, path):
        r = await c.get(path, params={"request": json.dumps({"display_data": "yes"})}, timeout=120)
        assert r.status_code == 200, r.text
        done.append(name)
        return r

    async def race():
        transport = httpx.ASGITransport(app=create_app(source))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            slow = asyncio.create_task(timed(c, "slow", "/api/report/slow_count"))
            await asyncio.sleep(0.3)  # the slow query is running
            t0 = time.monotonic()
            await timed(c, "fast", "/api/report/internet/summary")
            fast_secs = time.monotonic() - t0
            r = await slow
            return fast_secs, time.monotonic() - t0, r

    fast_secs, slow_secs, slow = asyncio.run(race())
    assert done == ["fast", "slow"] and fast_secs < slow_secs
    assert slow.json()["response"]["result"]["data"]["data"]["total"] == {"item1": [300.0]}
