"""Stored report runs: reuse, reconstruct, versions and diffs (issue 13), on a generated capture via the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pyarrow as pa
import pytest

from forensics.reports import bundled_reports_dir, run_report
from forensics.runs import result_values
from forensics.store import Case
from forensics.store import runs as store
from tests import builders as b
from tests.conftest import ROOT, copy_case
from tests.inprocess import cli

T0 = 1_473_163_200.0  # 2016-09-06T12:00:00Z (a float: builders read an int as nanoseconds)


def run(*args: str) -> subprocess.CompletedProcess:
    """In-process (tests.inprocess.cli): these tests check what the commands answer and store."""
    return cli(*args)


def process(*args: str) -> subprocess.CompletedProcess:
    """The real process: its exit code and stderr line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FORENSICS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def _capture(offset: int, hosts: int) -> bytes:
    """UDP and TCP packets from `hosts` home hosts to two outside ones, one every 20 s for 25 minutes."""
    recs = []
    for i in range(75):
        src = f"10.0.0.{1 + i % hosts}"
        if i % 3:
            pkt = b.ipv4(src, "8.8.8.8", 17, b.udp(40000 + i, 53, b"q" * (10 + i)))
        else:
            pkt = b.ipv4("203.0.113.9", src, 6, b.tcp(443, 50000 + i, flags=0x18, payload=b"x" * (100 + i)))
        recs.append((T0 + offset + 20 * i, b.eth(0x0800, pkt)))
    return b.pcap_file(recs)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The case of a.pcap, imported once for the module."""
    where = tmp_path_factory.mktemp("runs")
    cap = where / "a.pcap"
    cap.write_bytes(_capture(0, 4))
    db = where / "case.duckdb"
    proc = run("import", "--db", str(db), "-q", str(cap))
    assert proc.returncode == 0, proc.stderr
    return db


@pytest.fixture()
def case(imported, tmp_path):
    """The test's own copy of the imported case."""
    return copy_case(imported, tmp_path / "case.duckdb")


def _data(stdout: str) -> dict:
    doc = json.loads(stdout)["response"]["result"]["data"]
    doc.pop("generated_at")
    return doc


def _runs(db, *args: str) -> list[dict]:
    proc = run("runs", "--db", str(db), "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["runs"]


def test_report_is_stored_then_reused_until_fresh(case):
    first = run("report", "top_talkers", "--db", str(case), "--json")
    assert first.returncode == 0, first.stderr
    assert "reused" not in first.stderr
    [stored] = _runs(case)
    assert stored["name"] == "top_talkers" and stored["kind"] == "report" and stored["values"] > 0
    second = run("report", "top_talkers", "--db", str(case), "--json")
    assert f"reused run {stored['run_id']} computed at {stored['computed_at']}; --fresh recomputes" in second.stderr
    assert _data(second.stdout) == _data(first.stdout)
    assert len(_runs(case)) == 1
    other = run("report", "top_talkers", "--db", str(case), "--json", "-p", "top=2")  # other parameters
    assert "reused" not in other.stderr
    fresh = run("report", "top_talkers", "--db", str(case), "--json", "--fresh")
    assert "reused" not in fresh.stderr and _data(fresh.stdout) == _data(first.stdout)
    assert [r["params"].get("top") for r in _runs(case, "top_talkers")] == [10, 2, 10]


def test_new_data_is_not_answered_from_an_older_run(case, tmp_path):
    run("report", "top_talkers", "--db", str(case), "--json")
    cap = tmp_path / "b.pcap"
    cap.write_bytes(_capture(600, 6))
    assert run("import", "--db", str(case), "-q", str(cap)).returncode == 0
    again = run("report", "top_talkers", "--db", str(case), "--json")
    assert again.returncode == 0 and "reused" not in again.stderr
    assert len(_runs(case)) == 2


def test_a_run_computed_before_an_import_or_a_prune_is_not_stored_after_it(case, tmp_path):
    """The CLI computes on a read-only open and stores on a write-open after it (forensics/cli/report.py): what
    changed in between (a file imported, flows pruned) keeps the run out of the case."""
    from forensics.runs import keep, report_with_runs

    def computed() -> object:
        with Case.open(case, read_only=True) as ro:
            return report_with_runs(ro, "top_talkers", {}, store_run=False, fresh=True)

    unchanged = computed()
    with Case.open(case) as rw:
        assert keep(rw, unchanged) is not None  # nothing happened in between: stored
    before_import = computed()
    cap = tmp_path / "b.pcap"
    cap.write_bytes(_capture(600, 6))
    assert run("import", "--db", str(case), "-q", str(cap)).returncode == 0
    with Case.open(case) as rw:
        assert keep(rw, before_import) is None
    before_prune = computed()
    pruned = run("retain", "--db", str(case), "--before", "2016-09-06T12:10:00Z", "--level", "flows")
    assert pruned.returncode == 0, pruned.stderr
    with Case.open(case) as rw:
        assert keep(rw, before_prune) is None
    assert len(_runs(case)) == 1


def test_reconstruct_equals_a_direct_computation_and_repeats_unchanged(case):
    window = ["--from", "2016-09-06T12:00:00Z", "--to", "2016-09-06T12:30:00Z"]
    first = run("reconstruct", "top_talkers", "--db", str(case), "--json", *window)
    assert first.returncode == 0, first.stderr
    assert "stored run" in first.stderr
    with Case.open(case, read_only=True) as c:
        direct = run_report(c, "top_talkers", {"from": window[1], "to": window[3]})
    data = _data(first.stdout)
    assert data["datetime_start"] == "2016-09-06T12:00:00Z" and len(data["data"]["value"]) == 6
    items = [it.names for it in direct.sections[0].items]
    assert len(items) == 6  # 4 home hosts and the two outside ones
    assert list(data["data"]["items"].values()) == items
    with Case.open(case, read_only=True) as c:
        [stored] = store.list_runs(c.con)
        got = c.con.execute("SELECT section, item, bin, \"measure\", value FROM report_run_values "
                            "WHERE run_id = $i ORDER BY ALL", {"i": stored["run_id"]}).fetchall()
    want = [tuple(r.values()) for r in result_values(direct).to_pylist()]
    assert len(got) > 6 * 7 and Counter(got) == Counter(want)
    second = run("reconstruct", "top_talkers", "--db", str(case), "--json", *window)
    assert _data(second.stdout) == data
    a, b_ = (r["run_id"] for r in _runs(case, "top_talkers"))
    diff = run("runs", "--db", str(case), "--diff", str(a), str(b_), "--json")
    assert json.loads(diff.stdout)["changes"] == []


def test_report_defined_after_import_reconstructs_as_if_it_had_existed(case, tmp_path):
    queries = tmp_path / "q"
    queries.mkdir()
    text = (bundled_reports_dir() / "top_talkers.sql").read_text()
    (queries / "late_talkers.sql").write_text(text.replace("-- name: top_talkers", "-- name: late_talkers"))
    late = run("reconstruct", "late_talkers", "--db", str(case), "--queries", str(queries), "--json")
    assert late.returncode == 0, late.stderr
    built_in = run("report", "top_talkers", "--db", str(case), "--json")
    late_data, built_data = _data(late.stdout), _data(built_in.stdout)
    for key in ("data", "datetime_start", "datetime_end", "aggregation_seconds"):
        assert late_data[key] == built_data[key]
    # Edited: only the top 2 kept; a new version, and the diff names the items that left.
    (queries / "late_talkers.sql").write_text(text.replace("-- name: top_talkers", "-- name: late_talkers")
                                              .replace("top INTEGER = 10", "top INTEGER = 2"))
    assert run("reconstruct", "late_talkers", "--db", str(case), "--queries", str(queries)).returncode == 0
    v1, v2 = _runs(case, "late_talkers")
    assert v1["definition_sha256"] != v2["definition_sha256"]
    changes = json.loads(run("runs", "--db", str(case), "--diff", str(v1["run_id"]), str(v2["run_id"]),
                             "--json").stdout)["changes"]
    items = {c["item"] for c in changes}
    kept = [n[0] for n in late_data["data"]["items"].values()][:2]
    assert changes and "Others" in items and not items & set(kept)


def test_a_failed_store_leaves_no_half_run(case):
    with Case.open(case) as c:
        result = run_report(c, "top_talkers")
        bad = pa.table({"section": ["x"]})  # no item/bin/measure/value columns: the values insert fails
        run_row = {k: None for k in store._COLUMNS}
        with pytest.raises(Exception):  # noqa: B017 - whichever error DuckDB raises
            store.save_run(c.con, {**run_row, "name": "x"}, bad)
        assert c.con.execute("SELECT count(*) FROM report_runs").fetchone()[0] == 0
        assert c.con.execute("SELECT count(*) FROM report_run_values").fetchone()[0] == 0
        assert result.sections


def test_an_older_case_opened_read_only_reports_without_storing(case, tmp_path):
    old = tmp_path / "old.duckdb"
    copy_case(case, old)
    with Case.open(old) as c:
        c.con.execute("DROP TABLE report_run_values; DROP TABLE report_runs")
    from forensics.runs import report_with_runs

    with Case.open(old, read_only=True) as c:
        outcome = report_with_runs(c, "top_talkers")
        assert outcome.run_id is None and not outcome.reused and outcome.result.sections
        assert store.list_runs(c.con) == []


def test_coverage_none_outside_every_source_and_packets_in_a_quiet_stretch_of_a_capture(tmp_path):
    quiet = [(T0 + s, b.eth(0x0800, b.ipv4("10.0.0.1", "8.8.8.8", 17, b.udp(40000, 53, b"q" * 20))))
             for s in (0, 100, 200, 1500, 1700, 1799)]  # nothing between 12:03:20 and 12:25:00
    cap = tmp_path / "quiet.pcap"
    cap.write_bytes(b.pcap_file(quiet))
    db = tmp_path / "case.duckdb"
    assert run("import", "--db", str(db), "-q", str(cap)).returncode == 0
    proc = run("reconstruct", "top_talkers", "--db", str(db), "--json",
               "--from", "2016-09-06T11:50:00Z", "--to", "2016-09-06T12:40:00Z")
    assert proc.returncode == 0, proc.stderr
    data = _data(proc.stdout)["data"]
    cov, value = data["coverage"], data["value"]
    assert list(cov) == list(value) and len(cov) == 10
    # Before the first packet and after the last: no source at all.
    for t in ("2016-09-06T11:50:00Z", "2016-09-06T11:55:00Z", "2016-09-06T12:30:00Z", "2016-09-06T12:35:00Z"):
        assert cov[t] == "none" and set(value[t].values()) == {None}
    # Inside the capture's span without a packet: zero traffic, and the capture says so.
    for t in ("2016-09-06T12:05:00Z", "2016-09-06T12:10:00Z", "2016-09-06T12:15:00Z", "2016-09-06T12:20:00Z"):
        assert cov[t] == "packets" and all(v == [0.0, 0.0] for v in value[t].values())
    # The first bin starts with the capture; the last ends 1 s after its last packet.
    assert cov["2016-09-06T12:00:00Z"] == "packets" and cov["2016-09-06T12:25:00Z"] == "partial"
    assert sum(sum(v) for v in value["2016-09-06T12:25:00Z"].values()) > 0  # partial bins keep their figures
    csv_out = run("report", "top_talkers", "--db", str(db), "--format", "csv",
                  "--from", "2016-09-06T11:50:00Z", "--to", "2016-09-06T12:40:00Z").stdout.splitlines()
    assert csv_out[0].endswith(",coverage")
    assert any(",2016-09-06T12:25:00Z," in line and line.endswith(",partial") for line in csv_out[1:])
    assert any(",2016-09-06T12:00:00Z," in line and line.endswith(",packets") for line in csv_out[1:])
    table = run("report", "top_talkers", "--db", str(db), "--from", "2016-09-06T11:50:00Z",
                "--to", "2016-09-06T12:40:00Z").stdout
    assert "coverage: 10 bins: 4 none (no data held), 5 packets, 1 partial" in table
    page = tmp_path / "r.html"
    assert run("report", "top_talkers", "--db", str(db), "-o", str(page), "--from", "2016-09-06T11:50:00Z",
               "--to", "2016-09-06T12:40:00Z").returncode == 0
    html = page.read_text()
    assert html.count('class="coverage none"') == 4 and html.count('class="coverage partial"') == 1
    assert "coverage-key" in html
