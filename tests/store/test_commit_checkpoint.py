"""A large file's import commits its catalog rows into the database file (a checkpoint at COMMIT), not into the
WAL to be written again at close; a small file's commit keeps DuckDB's default (the WAL)."""

from __future__ import annotations

from pathlib import Path

import pytest

import forensics.store as store
from forensics.demo.generate import write_bench_pcap
from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case


def _wal(case: Case) -> int:
    wal = Path(str(case.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
                   .fetchone()[0]) + ".wal")
    return wal.stat().st_size if wal.exists() else 0


@pytest.mark.parametrize("large", [False, True])
def test_large_file_commit_leaves_no_wal(tmp_path, monkeypatch, large):
    pcap = tmp_path / "in.pcap"
    write_bench_pcap(pcap, 3_000, seed=3)
    if large:  # this file counts as large: more than SMALL_FILE_BYTES
        monkeypatch.setattr(store, "SMALL_FILE_BYTES", pcap.stat().st_size - 1)
    with Case.open(tmp_path / "case") as case:
        default = case.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0]
        import_paths(case, [str(pcap)], ImportOptions(workers=1))
        wal = _wal(case)
        # the setting is back to what it was, whichever way the file committed
        assert case.con.execute("SELECT current_setting('checkpoint_threshold')").fetchone()[0] == default
        assert case.con.execute("SELECT count(*) FROM dns").fetchone()[0] > 0  # catalog rows of the file
    if large:
        assert wal == 0
    else:
        assert wal > 0
    with Case.open(tmp_path / "case", read_only=True) as case:
        assert case.con.execute("SELECT count(*) FROM packets").fetchone()[0] == 3_000
        assert case.con.execute("SELECT sum(packets) FROM flows").fetchone()[0] == 3_000
