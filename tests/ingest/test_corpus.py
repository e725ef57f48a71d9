"""Every corpus capture imports with the packet count capinfos reports; nothing crashes."""

from __future__ import annotations

import pytest

from forensics.ingest import import_paths
from forensics.store import Case
from tests.conftest import CORPUS, corpus_path, corpus_rows


@pytest.fixture(scope="module")
def corpus_case(tmp_path_factory):
    db = tmp_path_factory.mktemp("corpus") / "corpus.duckdb"
    case = Case.open(db)
    summary = import_paths(case, [str(CORPUS / "files")])
    yield case, summary
    case.close()


def test_every_file_has_a_result(corpus_case):
    _, summary = corpus_case
    rows = corpus_rows()
    assert len(summary.files) == len(rows)
    assert all(f.status in ("imported", "partial", "rejected") for f in summary.files)


@pytest.mark.parametrize("row", [r for r in corpus_rows() if r["packets_capinfos"] not in ("", "ERR")],
                         ids=lambda r: r["path"])
def test_packet_count_matches_capinfos(corpus_case, row):
    case, summary = corpus_case
    path = str(corpus_path(row))
    result = next(f for f in summary.files if f.path == path)
    if row["format"].startswith("raw UDP payload"):
        return  # bare flow-export datagrams: checked by the flow import tests
    assert result.status == "imported", result.message
    got = case.con.execute("SELECT count(*) FROM packets WHERE capture_id = $c",
                           {"c": result.capture_id}).fetchone()[0]
    assert got == int(row["packets_capinfos"])
    stored = case.con.execute("SELECT packets, format, sha256 FROM captures WHERE capture_id = $c",
                              {"c": result.capture_id}).fetchone()
    assert stored[0] == got
    assert stored[2] == row["sha256"]
    fmt = row["format"]
    if fmt.startswith("pcapng"):
        assert stored[1].startswith("pcapng")
    elif fmt.startswith("pcap-"):
        order, res = fmt.split()[0].split("-")[1:3]
        assert stored[1].startswith(f"pcap-{order}-{res}")
    if "(gzip)" in fmt:
        assert stored[1].endswith("+gzip")


def test_link_types_recorded(corpus_case):
    case, summary = corpus_case
    for row in corpus_rows():
        if not row["link_types"] or row["link_types"] == "none":
            continue
        result = next(f for f in summary.files if f.path == str(corpus_path(row)))
        lts = case.con.execute("SELECT list(DISTINCT linktype ORDER BY linktype) FROM interfaces "
                               "WHERE capture_id = $c", {"c": result.capture_id}).fetchone()[0]
        expected = sorted({int(part.split("(")[1].split(")")[0]) for part in row["link_types"].split(",")})
        assert lts == expected, row["path"]


def test_frames_are_numbered_and_offsets_increase(corpus_case):
    case, _ = corpus_case
    bad = case.con.execute("""
        SELECT capture_id FROM packets GROUP BY capture_id
        HAVING min(frame) <> 1 OR max(frame) <> count(*) OR count(DISTINCT file_offset) <> count(*)
    """).fetchall()
    assert bad == []


def test_interfaces_of_multi_interface_pcapng(corpus_case):
    case, summary = corpus_case
    rows = [r for r in corpus_rows() if "IDBs]" in r["link_types"]]
    assert rows
    for row in rows:
        n_idb = int(row["link_types"].split("[")[1].split()[0])
        result = next(f for f in summary.files if f.path == str(corpus_path(row)))
        n = case.con.execute("SELECT count(*) FROM interfaces WHERE capture_id = $c",
                             {"c": result.capture_id}).fetchone()[0]
        assert n == n_idb, row["path"]
