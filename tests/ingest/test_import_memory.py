"""DuckDB's memory limit through an import: the streaming limit while a file's packets go in, the lower tail
limit once they are in (forensics.store.Case.import_tail_memory), the streaming one again for the next file,
the case's own limit after the import."""

from __future__ import annotations

import duckdb
import pytest

from forensics.ingest import ImportOptions, import_paths
from forensics.store import IMPORT_MEMORY_LIMIT, IMPORT_TAIL_MEMORY_LIMIT, SMALL_FILE_BYTES, CaptureMeta, Case
from tests import builders as b


def _as_duckdb_reports(limit: str) -> str:
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{limit}'")
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def _limit(case: Case) -> str:
    return case.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_tail_limit_then_streaming_limit_for_the_next_file(tmp_path, monkeypatch):
    monkeypatch.delenv("FORENSICS_IMPORT_MEMORY_LIMIT", raising=False)
    case = Case.open(tmp_path / "c.duckdb")
    outside = _limit(case)
    stream, tail = _as_duckdb_reports(IMPORT_MEMORY_LIMIT), _as_duckdb_reports(IMPORT_TAIL_MEMORY_LIMIT)
    assert stream != tail
    with case.import_memory():
        for n in range(2):
            meta = CaptureMeta(path=f"/x/{n}.pcap", sha256=f"s{n}", size_bytes=SMALL_FILE_BYTES + 1, format="pcap")
            with case.importing(meta) as writer:
                assert _limit(case) == stream
                writer.case.import_tail_memory()
                assert _limit(case) == tail
    assert _limit(case) == outside
    case.close()


def test_a_small_file_keeps_the_streaming_limit(tmp_path, monkeypatch):
    """A file of a few MB holds nothing worth lowering the limit for: its tail skips the SET statements."""
    monkeypatch.delenv("FORENSICS_IMPORT_MEMORY_LIMIT", raising=False)
    case = Case.open(tmp_path / "c.duckdb")
    stream = _as_duckdb_reports(IMPORT_MEMORY_LIMIT)
    with case.import_memory():
        meta = CaptureMeta(path="/x/s.pcap", sha256="s", size_bytes=SMALL_FILE_BYTES, format="pcap")
        with case.importing(meta) as writer:
            writer.case.import_tail_memory()
            assert _limit(case) == stream
    case.close()


def test_a_limit_the_user_sets_holds_through_the_tail(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_IMPORT_MEMORY_LIMIT", "300MB")
    case = Case.open(tmp_path / "c.duckdb")
    with case.import_memory():
        with case.importing(CaptureMeta(path="/x/a.pcap", sha256="a", size_bytes=1, format="pcap")) as writer:
            writer.case.import_tail_memory()
            assert _limit(case) == _as_duckdb_reports("300MB")
    case.close()


@pytest.mark.parametrize("appdata", [True, False])
def test_an_import_of_two_files_leaves_the_case_limit(tmp_path, monkeypatch, appdata):
    monkeypatch.delenv("FORENSICS_IMPORT_MEMORY_LIMIT", raising=False)
    paths = []
    for n in range(2):
        p = tmp_path / f"{n}.pcap"
        p.write_bytes(b.pcap_file([(1700000000.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(
            5000 + n, 53, b"\x00" * 12)))) for i in range(5)]))
        paths.append(str(p))
    case = Case.open(tmp_path / "c.duckdb")
    outside = _limit(case)
    results = import_paths(case, paths, ImportOptions(appdata=appdata))
    assert [r.status for r in results.files] == ["imported", "imported"]
    assert _limit(case) == outside
    case.close()
