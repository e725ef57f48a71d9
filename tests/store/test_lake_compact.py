"""Small captures of a lake share Parquet files (forensics.store.lake_compact): the same rows in every view and
table and the same reports after compaction, other readers see them through the shared files' capture_id column,
a kill -9 at any point of a compaction leaves every row exactly once, retention and --force work on shared files."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from forensics.demo.generate import write_bench_pcap
from forensics.ingest import ImportOptions, import_paths
from forensics.reports import run_report
from forensics.reports import runner as report_runner
from forensics.reports.traffic import FlowSpan, flow_spans
from forensics.store import Case, lake_compact, lake_stats
from forensics.store.lake import orphans
from forensics.store.lake_layout import SHARED_SCHEMAS
from forensics.store.lake_prune import prune_before
from tests.builders import eth, ipv4, pcap_file, tcp, udp
from tests.conftest import CORPUS, ROOT

# Small enough for a test: a capture under 1,000 rows of a table is small; shared files of at most 2,000 rows
# (so a day's small captures make several shared files, and a capture may sit in a file with others).
SMALL, SHARED = 1_000, 2_000
VOLATILE = {"imported_at", "rejected_at"}
DAY = 86_400
REPORTS = [("top_talkers", {"top": 10, "bin": DAY}), ("protocol_mix", {"bin": DAY}),
           ("top_ports", {"top": 5, "bin": DAY}), ("wannacry", {"bin": DAY})]


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch):
    monkeypatch.setattr(lake_compact, "SMALL_ROWS", SMALL)
    monkeypatch.setattr(lake_compact, "SHARED_ROWS", SHARED)
    monkeypatch.setattr(lake_compact, "UNDERFILLED_ROWS", SHARED // 2)


def _three_days(path: Path) -> None:
    """900 TCP and UDP packets, one every 4 minutes from 2024-05-01 22:00 UTC: three day folders."""
    start = dt.datetime(2024, 5, 1, 22, tzinfo=dt.timezone.utc).timestamp()
    records = []
    for i in range(900):
        src, dst = f"10.0.{i % 7}.{1 + i % 5}", f"192.0.2.{1 + i % 11}"
        l4 = tcp(40000 + i % 13, 443, 0x18, b"x" * (i % 50)) if i % 3 else udp(5000 + i % 17, 53, b"q" * 20)
        records.append((start + 240 * i, eth(0x0800, ipv4(src, dst, 6 if i % 3 else 17, l4))))
    path.write_bytes(pcap_file(records))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    """Six small generated captures, one over three days, one not small (1,500 packets), two corpus captures
    (DHCP application data; NetFlow v5 records: exported flows with exporter addresses)."""
    folder = tmp_path_factory.mktemp("in")
    files = []
    for i in range(6):
        files.append(folder / f"small{i}.pcap")
        write_bench_pcap(files[-1], 150 + 40 * i, seed=70 + i)
    files.append(folder / "days.pcap")
    _three_days(files[-1])
    files.append(folder / "large.pcap")
    write_bench_pcap(files[-1], 1_500, seed=99)
    corpus = [CORPUS / "files" / "zeek" / "dhcp__dhcp_flood.pcap",
              CORPUS / "files" / "graylog-netflow" / "netflow5.pcap"]
    assert all(p.exists() for p in corpus), corpus
    return files + corpus


def _import(db: Path, files: list[Path], **options: object) -> None:
    with Case.open(db) as case:
        summary = import_paths(case, [str(f) for f in files], ImportOptions(**options))
    assert {f.status for f in summary.files} <= {"imported", "replaced"}, [f.message for f in summary.files]


@pytest.fixture(scope="module")
def single(inputs, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("single") / "case.duckdb"
    layout = os.environ.get("FORENSICS_LAYOUT")
    os.environ["FORENSICS_LAYOUT"] = "file"  # a single file (new cases are lakes by default)
    try:
        _import(path, inputs)
    finally:
        if layout is None:
            os.environ.pop("FORENSICS_LAYOUT")
        else:
            os.environ["FORENSICS_LAYOUT"] = layout
    return path


@pytest.fixture(scope="module")
def lake(inputs, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lake") / "lake"
    _import(path, inputs)
    return path


def _copy(lake: Path, tmp_path: Path) -> Path:
    target = tmp_path / "lake"
    shutil.copytree(lake, target)
    return target


def _relations(case: Case) -> list[str]:
    rows = case.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal").fetchall()
    return sorted(r[0] for r in rows if r[0] != "lake_parts")


def _everything(db: Path) -> dict[str, list[tuple]]:
    """Every table and view, rows sorted (times of import left out), and the reports' rows."""
    out = {}
    with Case.open(db, read_only=True) as case:
        for name in _relations(case):
            cols = ", ".join(f'"{r[0]}"' for r in case.con.execute(f'DESCRIBE "{name}"').fetchall()
                             if r[0] not in VOLATILE)
            out[name] = sorted(case.con.execute(f'SELECT {cols} FROM "{name}"').fetchall(), key=repr)
        for name, params in REPORTS:
            result = run_report(case, name, dict(params))
            out[f"report {name}"] = repr([(s.name, s.items, sorted(s.series.items())) for s in result.sections])
    return out


def _bulk(db: Path) -> dict[str, list[tuple]]:
    """The Parquet-backed views only, rows sorted (what a compaction rewrites)."""
    with Case.open(db, read_only=True) as case:
        return {name: sorted(case.con.execute(f"SELECT * FROM {name}").fetchall(), key=repr)
                for name in ("packets", "flows")}


def _own_parts(db: Path) -> dict[int, int]:
    """capture_id -> parts of its own (packets and flows)."""
    with Case.open(db, read_only=True) as case:
        return dict(case.con.execute("SELECT capture_id, count(*) FROM lake_parts WHERE capture_id <> 0 "
                                     "GROUP BY 1").fetchall())


def test_compaction_answers_row_for_row(lake, single, tmp_path):
    db = _copy(lake, tmp_path)
    before = _everything(db)
    assert before["packets"] and before["flows"] and before["dhcp"]
    with Case.open(db) as case:
        large = case.con.execute("SELECT capture_id FROM captures WHERE path LIKE '%large.pcap'").fetchone()[0]
        waiting = lake_compact.small_parts(case.con)
        counts = lake_compact.compact(case)
        assert lake_compact.compact(case)["parts_merged"] == 0  # nothing left to do
    assert counts["parts_merged"] == waiting >= 16 and counts["shared_files"] >= 4
    assert counts["files_after"] < counts["files_before"]
    assert set(_own_parts(db)) == {large}  # the large capture keeps its own folder, the rest share files
    assert (db / "packets" / f"capture_id={large}").is_dir()
    after = _everything(db)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name] == before[name], name
    # and the single-file case agrees (the packets of all three)
    with Case.open(single, read_only=True) as case:
        assert sorted(case.con.execute("SELECT * FROM packets").fetchall(), key=repr) == after["packets"]
    with Case.open(db, read_only=True) as case:
        assert not orphans(case.con, db)
        for table in ("packets", "flows"):
            views = dict(case.con.execute(f"SELECT capture_id, count(*) FROM {table} GROUP BY 1").fetchall())
            # another reader: the two trees as hive datasets (capture_id a folder name, or the shared file's column)
            got: dict[int, int] = {}
            for folder in (db / table, db / "shared" / table):
                data = ds.dataset(folder, format="parquet", partitioning="hive").to_table(columns=["capture_id"])
                for cid in data.column("capture_id").to_pylist():
                    got[int(cid)] = got.get(int(cid), 0) + 1
            assert got == views
            shared = sorted((db / "shared" / table).glob("day=2*/*.parquet"))
            assert shared and all(pq.ParquetFile(f).schema_arrow == SHARED_SCHEMAS[table] for f in shared)
            assert all(pq.ParquetFile(f).metadata.num_rows <= SHARED for f in shared)


_SCAN_SPANS = ("SELECT capture_id, source = 'pcap' AS pcap, source <> 'pcap' AND coalesce(sampling_rate > 1, false), "
               "min(first_ts), max(last_ts), max(first_ts), count(*) FROM flows GROUP BY ALL ORDER BY ALL")


def test_flow_spans_from_the_footers_equal_a_scan(lake, inputs, tmp_path):
    """Reports take each capture's time range, kind and flow count from the parts' Parquet statistics
    (forensics/store/lake_stats.py) where DuckDB would scan them: the same figures as a scan (a capture over three
    days: its day parts summed). A part mixing flows built from packets with exported records (a capture of NetFlow
    datagrams), or a shared file holding several captures, cannot say which rows are whose: the reports scan."""
    db = tmp_path / "two"
    _import(db, [inputs[0], inputs[6]])
    with Case.open(db, read_only=True) as case:
        scanned = [tuple(r) for r in case.con.execute(_SCAN_SPANS).fetchall()]
        assert len(scanned) == 2 and case.con.execute("SELECT count(*) FROM lake_parts WHERE table_name = 'flows' "
                                                      "AND capture_id = 2").fetchone()[0] >= 3
        assert lake_stats.is_lake_flows(case.con, "flows")
        assert lake_stats.flow_part_spans(case.con) == scanned
        assert flow_spans(case.con) == [FlowSpan(*r) for r in scanned]
        case.con.execute("CREATE TEMP TABLE flows AS SELECT * FROM main.flows LIMIT 0")  # a report's scope
        assert not lake_stats.is_lake_flows(case.con, "flows")
    mixed = _copy(lake, tmp_path)
    with Case.open(mixed) as case:
        assert lake_compact.compact(case)["shared_files"] >= 4
    with Case.open(mixed, read_only=True) as case:
        scanned = [tuple(r) for r in case.con.execute(_SCAN_SPANS).fetchall()]
        assert {r[1] for r in scanned} == {True, False}  # flows from packets and exported NetFlow records
        assert lake_stats.flow_part_spans(case.con) is None
        assert sorted(flow_spans(case.con), key=lambda f: (f.capture_id, f.pcap)) == [FlowSpan(*r) for r in scanned]


_PINNED_VIEWS = "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name IN ('packets', 'flows')"


def test_a_table_in_one_part_is_read_alone_during_a_report_with_the_same_rows(inputs, tmp_path, monkeypatch):
    """pin_parts: packets and flows held in one file each are read through TEMP views over that file (DuckDB
    then keeps its statistics); the same rows as the catalog's views, the same report, nothing left after it."""
    db = tmp_path / "one"
    _import(db, [inputs[0]])
    with Case.open(db, read_only=True) as case:
        con = case.con
        views = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ("packets", "flows")}
        with monkeypatch.context() as m:  # the report through the catalog's views
            m.setattr(report_runner, "pin_parts", lambda con, **kw: [])
            before = run_report(case, "top_talkers", {"bin": DAY})
        assert sorted(lake_stats.pin_parts(con)) == ["flows", "packets"]
        for table in ("packets", "flows"):
            assert con.execute(f"SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = '{table}'"
                               ).fetchone()[0] == 1
            assert sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) == views[table]
        lake_stats.unpin(con, ["flows", "packets"])
        assert not con.execute(_PINNED_VIEWS).fetchone()[0]
        after = run_report(case, "top_talkers", {"bin": DAY})
        assert not con.execute(_PINNED_VIEWS).fetchone()[0]
        assert [(s.items, s.series) for s in after.sections] == [(s.items, s.series) for s in before.sections]
        assert before.sections[0].items


@pytest.mark.parametrize("compacted", [False, True])
def test_tables_in_several_parts_are_read_part_by_part_with_the_same_rows(lake, tmp_path, monkeypatch, compacted):
    """pin_parts on a case whose tables span many parts (ten captures, one over three days; after compaction shared
    files too): a TEMP view per table, one UNION ALL branch per part file, with the catalog view's columns and
    types and the same rows; an address is rebuilt from its low half in a part whose footer says every _hi is 0,
    is NULL where every _hi is NULL, else by the catalog's CASE; every report answers as through the catalog."""
    db = _copy(lake, tmp_path)
    if compacted:
        with Case.open(db) as case:
            assert lake_compact.compact(case)["shared_files"] >= 4
    monkeypatch.setattr(lake_stats, "PINNED_PARTS", 64)  # small parts, read part by part all the same
    with Case.open(db, read_only=True) as case:
        con = case.con
        parts = dict(con.execute("SELECT table_name, count(*) FROM lake_parts WHERE rows > 0 GROUP BY 1").fetchall())
        assert parts["packets"] > 1 and parts["flows"] > 1
        described = {t: con.execute(f"DESCRIBE {t}").fetchall() for t in ("packets", "flows")}
        rows = {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in ("packets", "flows")}
        with monkeypatch.context() as m:  # the reports through the catalog's views
            m.setattr(report_runner, "pin_parts", lambda con, **kw: [])
            before = [run_report(case, name, dict(params)) for name, params in REPORTS]
        assert sorted(lake_stats.pin_parts(con)) == ["flows", "packets"]
        sql = dict(con.execute("SELECT view_name, sql FROM duckdb_views() WHERE temporary").fetchall())
        for table in ("packets", "flows"):
            assert sql[table].count("read_parquet(") == parts[table]
            assert con.execute(f"DESCRIBE {table}").fetchall() == described[table]
            assert sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) == rows[table]
        # (DuckDB keeps a view's SQL in its own spelling)
        assert "CAST(src_ip_lo AS UHUGEINT) AS src_ip" in sql["flows"]  # IPv4-only parts
        assert "CAST(NULL AS UHUGEINT) AS exporter_ip" in sql["flows"]  # flows from packets: no exporter
        assert "CAST(NULL AS UHUGEINT) AS arp_spa" in sql["packets"]  # no ARP in a part
        assert "WHEN ((exporter_ip_hi = 0))" in sql["flows"]  # NetFlow v5 records beside flows from packets
        for table in ("packets", "flows"):  # a part in its capture's folder: the capture id a literal, no hive;
            literal = sql[table].count("(hive_partitioning = false)")  # a shared file: its capture_id column
            assert literal + sql[table].count("(hive_partitioning = true") == parts[table]
            assert literal < parts[table] if compacted else literal == parts[table]
        lake_stats.unpin(con, ["flows", "packets"])
        assert not con.execute(_PINNED_VIEWS).fetchone()[0]
        after = [run_report(case, name, dict(params)) for name, params in REPORTS]
        assert not con.execute(_PINNED_VIEWS).fetchone()[0]
        for b, a in zip(before, after, strict=True):
            assert [(s.items, s.series) for s in a.sections] == [(s.items, s.series) for s in b.sections]
        assert any(s.items for r in before for s in r.sections)


def test_pin_parts_leaves_a_table_in_many_small_parts_to_the_catalog(lake, monkeypatch):
    """A table in more than PINNED_PARTS parts is read through the catalog's glob unless its parts are large
    (PINNED_PART_ROWS rows on average, at most MAX_PINNED_PARTS parts): planning a UNION ALL branch per part costs
    more than the statistics save on small parts."""
    with Case.open(lake, read_only=True) as case:
        monkeypatch.setattr(lake_stats, "PINNED_PARTS", 1)
        assert lake_stats.pin_parts(case.con) == []
        assert not case.con.execute(_PINNED_VIEWS).fetchone()[0]
        monkeypatch.setattr(lake_stats, "PINNED_PART_ROWS", 1)
        assert sorted(lake_stats.pin_parts(case.con)) == ["flows", "packets"]
        lake_stats.unpin(case.con, ["flows", "packets"])
        monkeypatch.setattr(lake_stats, "MAX_PINNED_PARTS", 1)
        assert lake_stats.pin_parts(case.con) == []


def _view_sql(db: Path) -> dict[str, str]:
    with Case.open(db, read_only=True) as case:
        return dict(case.con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT temporary "
                                     "AND view_name IN ('packets', 'packet_rows', 'flows')").fetchall())


def test_views_read_the_shared_tree_once_it_holds_rows(lake, tmp_path):
    """No UNION over an empty shared tree (its planning costs milliseconds a query); the compaction that writes
    shared files brings it in, and an open that finds shared rows under views without the union rebuilds them."""
    db = _copy(lake, tmp_path)
    before = _bulk(db)
    assert not any("shared/" in sql for sql in _view_sql(db).values())
    with Case.open(db) as case:
        assert lake_compact.compact(case)["shared_files"] >= 4
        packets = case.con.execute("SELECT count(*) FROM packets").fetchone()[0]
    assert packets == len(before["packets"])
    views = _view_sql(db)
    assert all(f"'{db.resolve()}/shared/{t}/" in views[v] for v, t in
               (("packets", "packets"), ("packet_rows", "packets"), ("flows", "flows")))
    # a catalog whose flows view leaves the shared rows out (made while none were, by another process)
    con = duckdb.connect(str(db / "case.duckdb"))
    con.execute(f"CREATE OR REPLACE VIEW flows AS SELECT * FROM lake_flows('{db.resolve()}/flows/*/*/*.parquet')")
    con.close()
    assert _bulk(db) == before  # the read-only open rebuilt the views first


def test_a_later_compaction_merges_underfilled_shared_files(lake, inputs, tmp_path):
    db = _copy(lake, tmp_path)
    with Case.open(db) as case:
        lake_compact.compact(case)
    shared = []
    for seed in (5, 6):  # each time a new small capture, then a compaction
        extra = tmp_path / f"extra{seed}.pcap"
        write_bench_pcap(extra, 120, seed=seed)
        _import(db, [extra])
        before = _bulk(db)
        with Case.open(db) as case:
            counts = lake_compact.compact(case)
            shared.append(case.con.execute("SELECT count(*) FROM lake_parts WHERE capture_id = 0").fetchone()[0])
        assert _bulk(db) == before
    # the second capture's parts went into the under-filled files the first one made: no new shared file
    assert counts["parts_merged"] > 2 and shared[1] == shared[0]


_CHILD = r"""
import os, signal, sys
from forensics.reports.traffic import FlowSpan, flow_spans
from forensics.store import Case, lake_compact, lake_stats
lake_compact.SMALL_ROWS, lake_compact.SHARED_ROWS, lake_compact.UNDERFILLED_ROWS = 1000, 2000, 1000
point, calls = sys.argv[2], []
def die_on(n, fn):
    def wrapped(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)
    return wrapped
if point == "writing":  # the second shared file being written to _staging
    lake_compact.write_part = die_on(2, lake_compact.write_part)
elif point == "renamed":  # two files renamed into shared/, the catalog transaction open
    lake_compact._list_part = die_on(3, lake_compact._list_part)
elif point == "committed":  # after COMMIT, before the merged files are deleted
    lake_compact.remove_files = die_on(1, lake_compact.remove_files)
elif point == "deleting":  # after COMMIT, half the merged files deleted
    original = lake_compact.remove_files
    def half(root, rels):
        original(root, rels[: len(rels) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    lake_compact.remove_files = half
with Case.open(sys.argv[1]) as case:
    lake_compact.compact(case)
"""


# "renamed" leaves staged and renamed files (what "writing" leaves, and more); "deleting" what "committed" leaves,
# half deleted. The child knows all four points.
@pytest.mark.parametrize("point", ["renamed", "deleting"])
def test_kill_9_during_compaction_leaves_every_row_once(lake, tmp_path, point):
    db = _copy(lake, tmp_path)
    before = _bulk(db)
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(db), point], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                          capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-500:]
    with Case.open(db, read_only=True) as case:  # a read-only open sweeps first when it must
        assert not orphans(case.con, db)
        for name, rows in before.items():
            assert sorted(case.con.execute(f"SELECT * FROM {name}").fetchall(), key=repr) == rows, name
        compacted = case.con.execute("SELECT count(*) FROM lake_parts WHERE capture_id = 0").fetchone()[0] > 0
    assert compacted == (point in ("committed", "deleting"))
    with Case.open(db) as case:  # a write-open clears _staging; the next compaction completes the job
        assert not [p for p in (db / "_staging").iterdir()]
        lake_compact.compact(case)
        assert lake_compact.small_parts(case.con) == 0
    for name, rows in before.items():
        with Case.open(db, read_only=True) as case:
            assert sorted(case.con.execute(f"SELECT * FROM {name}").fetchall(), key=repr) == rows, name


@pytest.mark.parametrize("in_transaction", [False, True])
def test_retention_on_shared_files_matches_the_single_file_delete(lake, single, tmp_path, in_transaction):
    db = _copy(lake, tmp_path)
    one = tmp_path / "single.duckdb"
    shutil.copy(single, one)
    with Case.open(db) as case:
        lake_compact.compact(case)
    cut = dt.datetime(2024, 5, 2, 0, 5)  # the three-day capture: day 1 whole, day 2 across; older corpus files
    want = {}
    with Case.open(one) as case:
        want["packets"] = case.con.execute("DELETE FROM packet_rows WHERE ts < $c", {"c": cut}).fetchone()[0]
        want["flows"] = case.con.execute("DELETE FROM flows WHERE first_ts < $c", {"c": cut}).fetchone()[0]
    with Case.open(db) as case:
        before = {r[0] for r in case.con.execute("SELECT path FROM lake_parts").fetchall()}
        if in_transaction:
            case.con.execute("BEGIN TRANSACTION")
        got = {t: prune_before(case, t, cut) for t in ("packets", "flows")}
        if in_transaction:
            case.con.execute("COMMIT")
            case.finish_lake_commit()
        assert got == want and all(got.values())
        gone = before - {r[0] for r in case.con.execute("SELECT path FROM lake_parts").fetchall()}
        assert any(p.startswith("shared/") for p in gone) and not any((db / p).exists() for p in gone)
        assert not orphans(case.con, db)
    expect, result = _everything(one), _everything(db)
    for name in ("packets", "flows", "conversations"):
        assert result[name] == expect[name], name


def test_force_on_a_compacted_case_rewrites_the_shared_files(lake, single, inputs, tmp_path, monkeypatch):
    db = _copy(lake, tmp_path)
    with Case.open(db) as case:
        lake_compact.compact(case)
        shared_before = {r[0] for r in case.con.execute("SELECT path FROM lake_parts WHERE capture_id = 0").fetchall()}
    one = tmp_path / "single.duckdb"
    shutil.copy(single, one)
    again = [inputs[2], inputs[6]]  # a small capture, and the three-day one (rows in three days' shared files)
    monkeypatch.setenv("FORENSICS_LAYOUT", "file")  # new .duckdb paths: single files
    _import(one, again, force=True)
    _import(db, again, force=True)
    expect, result = _everything(one), _everything(db)
    for name in expect:
        if name == "flow_home_bits":  # a lake's own (the flows parts' home bits): a single file keeps none
            continue
        assert result[name] == expect[name], name
    with Case.open(db, read_only=True) as case:
        assert not orphans(case.con, db)
        shared_after = {r[0] for r in case.con.execute("SELECT path FROM lake_parts WHERE capture_id = 0").fetchall()}
        replaced = dict(case.con.execute("SELECT path, capture_id FROM captures").fetchall())
    rewritten = shared_before - shared_after
    assert len(rewritten) >= 4 and not any((db / p).exists() for p in rewritten)
    # the replaced captures' new rows are parts of their own again (until the next compaction)
    assert {replaced[str(p.resolve())] for p in again} <= set(_own_parts(db))


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    environ = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    environ.pop("FORENSICS_LAYOUT", None)
    return subprocess.run([sys.executable, "-m", "forensics", *args], env=environ, capture_output=True, text=True,
                          timeout=300)


def test_import_compacts_when_many_small_parts_wait_and_the_command_says_so(inputs, tmp_path, monkeypatch):
    db = tmp_path / "auto"
    small = [str(f) for f in inputs[:6]]
    # The real limits here: every capture is small (under a row group). Over 4 small parts waiting: compacted.
    assert _cli("import", *small[:2], "--db", str(db), "--quiet", FORENSICS_COMPACT_PARTS="4").returncode == 0
    assert len(_own_parts(db)) == 2  # 4 parts: not more than the limit
    run = _cli("import", *small[2:], "--db", str(db), "--json", FORENSICS_COMPACT_PARTS="4")
    assert run.returncode == 0, run.stderr
    assert not _own_parts(db)
    compaction = json.loads(run.stdout)["compaction"]  # the import's JSON says what the compaction did
    assert compaction["parts_merged"] == 12 and compaction["files_after"] < compaction["files_before"]
    with Case.open(db, read_only=True) as case:
        assert case.con.execute("SELECT count(DISTINCT capture_id) FROM packets").fetchone()[0] == 6
    run = _cli("compact", "--db", str(db), "--json")
    assert run.returncode == 0, run.stderr
    assert '"parts_merged": 0' in run.stdout
    one = tmp_path / "s.duckdb"
    monkeypatch.setenv("FORENSICS_LAYOUT", "file")  # new .duckdb paths: single files
    _import(one, inputs[:1])
    run = _cli("compact", "--db", str(one))
    assert run.returncode == 2 and "single-file case" in run.stderr and "Traceback" not in run.stderr
    bad = _cli("import", small[0], "--db", str(tmp_path / "x"), FORENSICS_COMPACT_PARTS="many")
    assert bad.returncode == 2 and "FORENSICS_COMPACT_PARTS" in bad.stderr
    assert not (tmp_path / "x").exists()  # refused before anything was imported


def test_footer_rows_are_read_once_per_file_and_again_when_the_file_changes(tmp_path, monkeypatch):
    """lake_stats.footer_rows caches each file's summary by path, size and mtime: a second call reads no footer,
    a file rewritten (a new mtime) is read again; a file that is not Parquet is an OSError naming it."""
    part = tmp_path / "part.parquet"
    pq.write_table(SHARED_SCHEMAS["flows"].empty_table(), part)
    reads = []

    def columns(path, meta):
        reads.append(path)
        return [(path, meta.num_columns)]

    shared = len(SHARED_SCHEMAS["flows"])  # the columns of a shared part
    assert lake_stats.footer_rows(columns, [str(part)]) == [(str(part), shared)]
    table = pa.table({"capture_id": pa.array([1, 2], pa.int32())})
    pq.write_table(table, part)
    os.utime(part, ns=(1, 1))
    first = lake_stats.footer_rows(columns, [str(part)])
    assert first == [(str(part), 1)] and len(reads) == 2
    assert lake_stats.footer_rows(columns, [str(part)]) == first and len(reads) == 2  # cached: no read
    pq.write_table(pa.table({"a": pa.array([1], pa.int32()), "b": pa.array([2], pa.int32())}), part)
    assert lake_stats.footer_rows(columns, [str(part)]) == [(str(part), 2)] and len(reads) == 3
    part.write_bytes(b"PAR1 not a footer")
    with pytest.raises(OSError, match="part.parquet"):
        lake_stats.footer_rows(columns, [str(part)])
