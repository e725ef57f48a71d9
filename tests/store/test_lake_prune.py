"""Retention on a lake (forensics.store.lake_prune.prune_before): the rows left are those the single-file
DELETE leaves; parts wholly older than the cutoff go as files, parts across it are rewritten."""

from __future__ import annotations

import datetime as dt

import pytest

from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case
from forensics.store.lake import orphans
from forensics.store.lake_prune import prune_before
from tests.builders import eth, ipv4, pcap_file, tcp, udp


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """3,000 TCP and UDP packets, one a minute from 2024-05-01 22:00 UTC: three day folders."""
    path = tmp_path_factory.mktemp("cap") / "days.pcap"
    start = dt.datetime(2024, 5, 1, 22, tzinfo=dt.timezone.utc).timestamp()
    records = []
    for i in range(3_000):
        src, dst = f"10.0.{i % 7}.{1 + i % 5}", f"192.0.2.{1 + i % 11}"
        l4 = tcp(40000 + i % 13, 443, 0x18, b"x" * (i % 50)) if i % 3 else udp(5000 + i % 17, 53, b"q" * 20)
        records.append((start + 60 * i, eth(0x0800, ipv4(src, dst, 6 if i % 3 else 17, l4))))
    path.write_bytes(pcap_file(records))
    return path


def _table(case: Case, name: str) -> list[tuple]:
    return sorted(case.con.execute(f"SELECT * FROM {name}").fetchall(), key=repr)


@pytest.mark.parametrize("in_transaction", [False, True])
def test_prune_before_matches_the_single_file_delete(capture, tmp_path, in_transaction, monkeypatch):
    monkeypatch.setenv("FORENSICS_LAYOUT", "file")  # s.duckdb a single file whatever layout the suite runs on
    single, lake_path = tmp_path / "s.duckdb", tmp_path / "lake"
    for db in (single, lake_path):
        with Case.open(db) as case:
            import_paths(case, [str(capture)], ImportOptions())
    with Case.open(lake_path) as case:
        days = case.con.execute("SELECT DISTINCT day FROM lake_parts WHERE table_name = 'packets' ORDER BY 1"
                                ).fetchall()
        assert len(days) == 3
        first_ts, last_ts = case.con.execute("SELECT min(ts), max(ts) FROM packets").fetchone()
    cuts = {"packets": dt.datetime.combine(days[1][0], dt.time()) + dt.timedelta(minutes=5),  # day 1 whole, day 2 cut
            "flows": first_ts + (last_ts - first_ts) / 3}  # inside day 1: cut across
    want = {}
    with Case.open(single) as case:
        for table, column in (("packet_rows", "ts"), ("flows", "first_ts")):
            cut = cuts["packets" if table == "packet_rows" else "flows"]
            n = case.con.execute(f"DELETE FROM {table} WHERE {column} < $c", {"c": cut}).fetchone()[0]
            want[table] = n
        expect = {t: _table(case, t) for t in ("packets", "flows", "conversations")}
    with Case.open(lake_path) as case:
        before = {r[0] for r in case.con.execute("SELECT path FROM lake_parts").fetchall()}
        if in_transaction:
            case.con.execute("BEGIN TRANSACTION")
        got = {"packet_rows": prune_before(case, "packets", cuts["packets"]),
               "flows": prune_before(case, "flows", cuts["flows"])}
        if in_transaction:
            case.con.execute("COMMIT")
            case.finish_lake_commit()
        assert got == want and all(got.values())
        for t, rows in expect.items():
            assert _table(case, t) == rows, t
        after = {r[0] for r in case.con.execute("SELECT path FROM lake_parts").fetchall()}
        assert not orphans(case.con, lake_path)
        gone = before - after
        assert gone and all(not (lake_path / p).exists() for p in gone)
        assert not any(str(days[0][0]) in p for p in after if p.startswith("packets/"))  # the old day went whole
