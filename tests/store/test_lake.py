"""The lake layout (a case folder: catalog + Parquet parts): same answers as a single-file case, Parquet files
that other readers see as the views do, conversion, and --force on a lake."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case
from forensics.store.lake import orphans
from forensics.store.lake_convert import convert_to_lake
from forensics.store.lake_layout import EMPTY_PART, SCHEMAS
from tests.conftest import CORPUS, copy_case

# Packets, NetFlow v5/v9 and IPFIX exports inside pcaps, a pcapng, gzip, an exported-flow file, DHCP (appdata).
FILES = [
    "graylog-netflow/netflow5.pcap", "graylog-netflow/nprobe-netflow9-3.pcap", "ipfixprobe/ntp.pcap",
    "zeek/dhcp__dhcp_flood.pcap", "scapy/http_chunk.pcap.gz", "nDPI/alexa-app.pcapng",
    "logstash-netflow/netflow5_test_juniper_mx80.dat", "zeek/smtp.pcap",
]
VOLATILE = {"imported_at", "rejected_at"}  # when, not what


def _files() -> list[str]:
    paths = [str(CORPUS / "files" / f) for f in FILES]
    missing = [p for p in paths if not Path(p).exists()]
    assert not missing, f"corpus files missing: {missing}"
    return paths


def _relations(case: Case) -> list[str]:
    rows = case.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "UNION SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
        "AND schema_name = 'main' AND NOT internal").fetchall()
    # lake_parts lists the Parquet files; flow_home_bits, under which home blocks the flows parts' src_home and
    # dst_home were computed: a lake's own bookkeeping, empty in a single file
    return sorted(r[0] for r in rows if r[0] not in ("lake_parts", "flow_home_bits"))


def _rows(case: Case, name: str) -> tuple[list[tuple], list[tuple]]:
    desc = case.con.execute(f'DESCRIBE "{name}"').fetchall()
    cols = ", ".join(f'"{r[0]}"' for r in desc if r[0] not in VOLATILE)
    rows = case.con.execute(f'SELECT {cols} FROM "{name}"').fetchall()
    return sorted(rows, key=repr), [(r[0], r[1]) for r in desc]


def _assert_same(lake_path: Path, single_path: Path) -> None:
    with Case.open(single_path, read_only=True) as single, Case.open(lake_path, read_only=True) as lake_case:
        names = _relations(single)
        assert set(names) <= set(_relations(lake_case))
        checked = 0
        for name in names:
            want, want_types = _rows(single, name)
            got, got_types = _rows(lake_case, name)
            assert got_types == want_types, name
            assert got == want, name
            checked += bool(want)
        assert checked >= 6  # packets, flows, captures, interfaces and appdata tables at least hold rows


@pytest.fixture(scope="module")
def single_case(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("single") / "case.duckdb"
    layout = os.environ.get("FORENSICS_LAYOUT")
    os.environ["FORENSICS_LAYOUT"] = "file"  # a single file whatever layout the suite runs on
    try:
        with Case.open(path) as case:
            summary = import_paths(case, _files(), ImportOptions())
    finally:
        if layout is None:
            os.environ.pop("FORENSICS_LAYOUT")
        else:
            os.environ["FORENSICS_LAYOUT"] = layout
    assert path.is_file()
    assert {f.status for f in summary.files} == {"imported"}, [f.message for f in summary.files]
    return path


def test_lake_import_answers_as_a_single_file_case(single_case, tmp_path):
    lake_path = tmp_path / "lake"
    with Case.open(lake_path) as case:
        summary = import_paths(case, _files(), ImportOptions())
    assert {f.status for f in summary.files} == {"imported"}, [f.message for f in summary.files]
    assert (lake_path / "case.duckdb").is_file() and (lake_path / "README.md").is_file()
    assert not list((lake_path / "_staging").iterdir())
    _assert_same(lake_path, single_case)


def test_converted_case_answers_table_by_table(single_case, tmp_path):
    target = tmp_path / "converted"
    counts = convert_to_lake(single_case, target)
    assert counts["packets"] > 1000 and counts["flows"] > 100
    assert not list(tmp_path.glob(".converted.converting-*"))
    _assert_same(target, single_case)


def test_converted_case_keeps_alerts_runs_and_retention_table_by_table(single_case, tmp_path):
    """The catalog tables the import leaves empty (alerts, stored runs, retention log and summary) filled first."""
    from forensics.checks import run_checks
    from forensics.config import load_config
    from forensics.retain import retain
    from forensics.runs import report_with_runs

    source = copy_case(single_case, tmp_path / "busy.duckdb")
    with Case.open(source) as case:
        alerts = len(run_checks(case).alerts)
        assert report_with_runs(case, "top_talkers").run_id is not None
        newest = case.con.execute("SELECT max(last_ts) FROM captures").fetchone()[0]
        cut = (newest - dt.timedelta(seconds=1)).isoformat() + "Z"
        retain(case, load_config(None, source), before=cut, level="packets")
    target = tmp_path / "converted"
    convert_to_lake(source, target)
    _assert_same(target, source)
    with Case.open(target, read_only=True) as case:
        filled = {t: case.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("alerts", "report_runs", "report_run_values", "retention", "traffic_summary")}
    assert filled["alerts"] == alerts and all(filled[t] for t in filled if t != "alerts"), filled


def test_parquet_files_read_by_pyarrow_as_the_views_show(single_case, tmp_path):
    target = tmp_path / "lake"
    convert_to_lake(single_case, target)
    with Case.open(target, read_only=True) as case:
        listed = dict(case.con.execute("SELECT path, rows FROM lake_parts").fetchall())
        for table_name in ("packets", "flows"):
            files = sorted(p for p in (target / table_name).glob("*/*/*.parquet") if not str(p).endswith(EMPTY_PART))
            assert files
            for f in files:  # each file alone: its schema, and its row count as the catalog lists it
                pf = pq.ParquetFile(f)
                assert pf.schema_arrow == SCHEMAS[table_name]
                assert pf.metadata.num_rows == listed[f.relative_to(target).as_posix()]
            # the folder as a hive dataset, as Spark or pandas would read it
            data = ds.dataset(target / table_name, format="parquet", partitioning="hive").to_table()
            view_n = case.con.execute(f"SELECT count(*) FROM {table_name}").fetchone()[0]
            assert data.num_rows == view_n
            # addresses rebuilt from _hi/_lo in Python equal the view's, row for row
            key = "frame" if table_name == "packets" else "flow_id"
            got = sorted(
                (int(c), int(k), None if hi is None else (hi << 64) | lo)
                for c, k, hi, lo in zip(data.column("capture_id").to_pylist(), data.column(key).to_pylist(),
                                        data.column("src_ip_hi").to_pylist(), data.column("src_ip_lo").to_pylist(),
                                        strict=True))
            want = sorted((c, k, None if a is None else int(a)) for c, k, a in case.con.execute(
                f"SELECT capture_id, {key}, src_ip FROM {table_name}").fetchall())
            assert got == want
            v4 = [a for *_, a in got if a is not None and a >> 32 == 0xFFFF]
            assert v4 and all(ipaddress.IPv6Address(a).ipv4_mapped is not None for a in v4)
            times = data.column("ts" if table_name == "packets" else "first_ts")
            assert str(times.type) == "timestamp[us]"


def test_force_replaces_a_captures_parts(tmp_path):
    lake_path = tmp_path / "lake"
    path = str(CORPUS / "files" / "zeek" / "dhcp__dhcp_flood.pcap")
    with Case.open(lake_path) as case:
        import_paths(case, [path], ImportOptions())
        before = set(case.con.execute("SELECT path FROM lake_parts").fetchall())
        # a table keyed by capture that no module of this process registered (the CLI loads areas lazily)
        case.con.execute("CREATE TABLE notes_by_capture AS SELECT 1 AS capture_id, 'seen' AS note")
        summary = import_paths(case, [path], ImportOptions(force=True))
        assert summary.files[0].status == "replaced"
        keyed = [r[0] for r in case.con.execute(
            "SELECT table_name FROM duckdb_columns() WHERE column_name = 'capture_id' AND schema_name = 'main' "
            "AND database_name = current_database()").fetchall()]
        assert "notes_by_capture" in keyed and "dhcp" in keyed
        for table in keyed:  # nothing of the replaced capture is left anywhere
            assert case.con.execute(f"SELECT count(*) FROM {table} WHERE capture_id = 1").fetchone()[0] == 0, table
        after = set(case.con.execute("SELECT path FROM lake_parts").fetchall())
        assert before and after and not before & after
        assert case.con.execute("SELECT DISTINCT capture_id FROM packets").fetchall() == [(2,)]
        assert case.con.execute("SELECT count(*) FROM packets").fetchone()[0] == 500
        assert not orphans(case.con, lake_path)
    assert not any((lake_path / p[0]).exists() for p in before)


def test_views_work_from_any_working_directory_and_after_a_move(single_case, tmp_path, monkeypatch):
    import duckdb

    target = tmp_path / "lake"
    convert_to_lake(single_case, target)
    monkeypatch.chdir(tmp_path.parent)
    with Case.open(target, read_only=True) as case:
        n = case.con.execute("SELECT count(*) FROM packets").fetchone()[0]
        assert n == case.con.execute("SELECT sum(packets) FROM captures").fetchone()[0]
        case.con.execute("SET enable_external_access = false")  # as user checks and `forensics sql` run
        assert case.con.cursor().execute("SELECT count(*) FROM packets").fetchone()[0] == n
        with pytest.raises(duckdb.PermissionException):
            case.con.execute(f"SELECT count(*) FROM read_parquet('{single_case}')").fetchall()
    con = duckdb.connect(str(target / "case.duckdb"), read_only=True)  # a plain duckdb user
    assert con.execute("SELECT count(*) FROM packets").fetchone()[0] == n
    con.close()
    moved = tmp_path / "moved"
    target.rename(moved)
    with Case.open(moved, read_only=True) as case:  # the views are rebuilt for the new place first
        assert case.con.execute("SELECT count(*) FROM packets").fetchone()[0] == n
        assert case.con.execute("SELECT count(*) FROM flows").fetchone()[0] > 0


def test_layout_is_chosen_by_the_path(tmp_path, monkeypatch):
    from forensics.errors import UsageError

    monkeypatch.delenv("FORENSICS_LAYOUT", raising=False)
    with Case.open(tmp_path / "new") as case:  # a new path without .duckdb: a lake
        assert case.lake_root is not None
    assert (tmp_path / "new" / "case.duckdb").is_file()
    with Case.open(tmp_path / "new.duckdb") as case:  # a new .duckdb path: a lake too (the default layout)
        assert case.lake_root is not None
    assert (tmp_path / "new.duckdb" / "case.duckdb").is_file()
    monkeypatch.setenv("FORENSICS_LAYOUT", "file")
    with Case.open(tmp_path / "single.duckdb") as case:  # ... unless FORENSICS_LAYOUT=file
        assert case.lake_root is None
    assert (tmp_path / "single.duckdb").is_file()
    with Case.open(tmp_path / "other") as case:  # a new path without .duckdb stays a lake
        assert case.lake_root is not None
    monkeypatch.delenv("FORENSICS_LAYOUT")
    with Case.open(tmp_path / "single.duckdb") as case:  # an existing file stays a single file
        assert case.lake_root is None
    with Case.open(tmp_path / "new.duckdb") as case:  # an existing lake stays a lake, whatever the layout
        assert case.lake_root is not None
    monkeypatch.setenv("FORENSICS_LAYOUT", "folder")
    with pytest.raises(UsageError, match="FORENSICS_LAYOUT='folder': write lake"):
        Case.open(tmp_path / "third.duckdb")
    assert not (tmp_path / "third.duckdb").exists()
    monkeypatch.delenv("FORENSICS_LAYOUT")
    busy = tmp_path / "captures"
    busy.mkdir()
    (busy / "a.pcap").write_bytes(b"x")
    with pytest.raises(UsageError, match="not a case"):  # a folder of other things is never made a case
        Case.open(busy)
    assert sorted(p.name for p in busy.iterdir()) == ["a.pcap"]


def test_interrupted_conversion_leaves_no_case_and_the_source_as_it_was(single_case, tmp_path, monkeypatch):
    from forensics.store import lake

    digest_before = single_case.read_bytes()
    calls = []

    def interrupted(self, table_name, capture_id, table):
        calls.append(table_name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return original(self, table_name, capture_id, table)

    original = lake.Stage.write_table
    monkeypatch.setattr(lake.Stage, "write_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert_to_lake(single_case, tmp_path / "conv")
    assert not (tmp_path / "conv").exists() and not list(tmp_path.glob(".conv.converting-*"))
    assert single_case.read_bytes() == digest_before
    monkeypatch.setattr(lake.Stage, "write_table", original)
    convert_to_lake(single_case, tmp_path / "conv")  # the next attempt completes
    assert (tmp_path / "conv" / "case.duckdb").is_file()
