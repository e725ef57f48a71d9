"""Small captures imported side by side (two at a time, each in its own transaction) give the case a
one-at-a-time import gives: the same ids, rows, duplicates, rejects and flow-export records."""

from __future__ import annotations

import shutil

import pytest

from forensics.ingest import ImportOptions, _plan, import_paths
from forensics.store import Case
from tests.conftest import CORPUS, FULL_CORPUS, corpus_path, corpus_rows, corpus_sample

# Every table of the case, with the columns that say when (not what) left out.
TABLES = {
    "captures": "* EXCLUDE (imported_at)",
    "interfaces": "*",
    "packets": "*",
    "flows": "*",
    "import_rejects": "* EXCLUDE (rejected_at)",
    "flow_templates": "*",
    "flow_pending_sets": "*",
    "sflow_counters": "*",
}


def _snapshot(db) -> dict:
    with Case.open(db, read_only=True) as case:
        return {t: sorted(case.con.execute(f"SELECT {cols} FROM {t}").fetchall(), key=repr)
                for t, cols in TABLES.items()}


def _import(db, paths, workers: int) -> list:
    with Case.open(db) as case:
        summary = import_paths(case, [str(p) for p in paths], ImportOptions(workers=workers))
    return [(f.path, f.status, f.capture_id, f.packets, f.flows, f.flow_records, f.message) for f in summary.files]


def _corpus_folder(tmp_path):
    """A folder of corpus_sample()'s files under their corpus paths (the corpus itself under
    FORENSICS_FULL_CORPUS=1)."""
    if FULL_CORPUS:
        return CORPUS / "files", 100
    rows = corpus_sample(corpus_rows())
    folder = tmp_path / "files"
    for row in rows:
        dest = tmp_path / row["path"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(corpus_path(row), dest)
    return folder, len(rows) - 1


def test_corpus_folder_side_by_side_equals_one_at_a_time(tmp_path):
    folder, at_least = _corpus_folder(tmp_path)
    results = {w: _import(tmp_path / f"w{w}.duckdb", [folder], w) for w in (1, 2)}
    assert results[2] == results[1]
    assert len(results[1]) > at_least
    assert _snapshot(tmp_path / "w2.duckdb") == _snapshot(tmp_path / "w1.duckdb")
    groups = _plan(sorted(str(p) for p in folder.rglob("*") if p.is_file()), ImportOptions(workers=2))
    assert max(len(g) for g in groups) > 10  # most of the corpus really went side by side


def test_same_content_twice_in_one_run_imports_the_first(tmp_path):
    src = CORPUS / "files/gopacket/test_dns.pcap"
    other = CORPUS / "files/zeek/ipv6-fragmented-dns.pcap"
    copies = []
    for i, p in enumerate([src, other, src, src]):
        dst = tmp_path / f"{i}-{p.name}"
        shutil.copy(p, dst)
        copies.append(dst)
    got = _import(tmp_path / "c.duckdb", copies, 2)
    assert [r[1] for r in got] == ["imported", "imported", "duplicate", "duplicate"]
    assert [r[2] for r in got] == [1, 2, 1, 1]
    assert f"as capture 1 ({copies[0].resolve()})" in got[2][6]


def test_interrupt_stops_every_file_in_progress_and_keeps_whole_files(tmp_path):
    files = sorted(p for p in (CORPUS / "files").rglob("*.pcap") if 0 < p.stat().st_size < 4 << 20)[:40]

    class Stop:
        calls = 0

        def file_started(self, path, size):
            pass

        def advanced(self, done, packets):
            Stop.calls += 1
            if Stop.calls == 15:
                raise KeyboardInterrupt

        def file_done(self, result):
            pass

    db = tmp_path / "c.duckdb"
    with Case.open(db) as case:
        with pytest.raises(KeyboardInterrupt):
            import_paths(case, [str(p) for p in files], ImportOptions(workers=2), progress=Stop())
        rows = case.con.execute(
            "SELECT c.capture_id, c.packets, (SELECT count(*) FROM packet_rows p WHERE p.capture_id = c.capture_id) "
            "FROM captures c").fetchall()
        stray = case.con.execute(
            "SELECT count(*) FROM packet_rows WHERE capture_id NOT IN (SELECT capture_id FROM captures)").fetchall()
    assert 0 < len(rows) < len(files)
    assert all(n == stored for _, n, stored in rows)
    assert stray == [(0,)]


def test_many_small_files_get_ids_in_file_order(tmp_path):
    from tests import builders as b

    folder = tmp_path / "many"
    folder.mkdir()
    n = 300 if FULL_CORPUS else 60
    for i in range(n):
        pkt = b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1000 + i, 53, b"x" * (i % 7))))
        (folder / f"{i:04d}.pcap").write_bytes(b.pcap_file([(1_700_000_000 + i, pkt), (1_700_000_001 + i, pkt)]))
    (folder / f"{n // 2:04d}.pcap").write_bytes(b"")  # an empty file in the middle takes no id
    got = _import(tmp_path / "c.duckdb", [folder], 2)
    assert [r[1] for r in got].count("rejected") == 1
    stored = [r for r in got if r[1] == "imported"]
    assert [r[2] for r in stored] == list(range(1, n))
    assert all(r[3] == 2 and r[4] == 1 for r in stored)
