"""forensics.store.bulk_insert: rows in one statement give the table executemany gives, for every type the
report and check contexts use (128-bit addresses, NULLs, times, booleans, doubles)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from forensics.config import load_config
from forensics.reports.context import install_context
from forensics.store import Case
from forensics.store.bulk_insert import insert_rows

SPEC = "lo UHUGEINT, hi UHUGEINT, asn UINTEGER, name VARCHAR, seen TIMESTAMP, on_edge BOOLEAN, share DOUBLE"
ROWS = [
    ((1 << 127), (1 << 128) - 1, 64512, "v6 half", dt.datetime(2016, 9, 6, 12, 0, 1, 5), True, 0.25),
    ((0xFFFF << 32) + (10 << 24), (0xFFFF << 32) + (11 << 24) - 1, None, None, None, None, 1),
    (0, 1, 4294967295, "zero", dt.datetime(1970, 1, 1), False, None),
]


def _table(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT lo::VARCHAR, hi::VARCHAR, asn, name, seen, on_edge, share FROM t").fetchall()


def test_same_rows_as_executemany() -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({SPEC})")
    con.executemany("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)", [list(r) for r in ROWS])
    expected = _table(con)
    con.execute("DELETE FROM t")
    insert_rows(con, "t", ROWS)
    assert _table(con) == expected
    assert expected[0][:2] == (str(1 << 127), str((1 << 128) - 1))  # the 128-bit values exactly
    insert_rows(con, "t", [])  # nothing to add: no statement
    assert len(_table(con)) == len(ROWS)


def test_rows_of_different_widths_are_refused() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t2 (a INTEGER, b INTEGER)")
    with pytest.raises(ValueError):
        insert_rows(con, "t2", [(1, 2), (3,)])
    assert con.execute("SELECT count(*) FROM t2").fetchall() == [(0,)]


def test_other_connections_get_executemany() -> None:
    """A connection that is not DuckDB's (the Spark engine's) is handed executemany, which it translates."""
    seen: list[tuple[str, list]] = []

    class Proxy:
        def executemany(self, sql: str, rows: list) -> None:
            seen.append((sql, rows))

    insert_rows(Proxy(), "t", [(1, "a"), (2, None)])
    assert seen == [("INSERT INTO t VALUES ($1, $2)", [[1, "a"], [2, None]])]


def test_report_context_holds_the_config(tmp_path) -> None:  # noqa: ANN001
    """The report context's tables, filled through insert_rows, hold the config's home blocks and signatures."""
    cfg = tmp_path / "forensics.toml"
    cfg.write_text('[home]\nnetworks = ["10.0.0.0/8", "2001:db8::/32"]\n', encoding="utf-8")
    config = load_config(cfg, None)
    with Case.open(str(tmp_path / "case")) as case:
        con = case.con
        install_context(con, config)
        nets = con.execute("SELECT cidr, lo::VARCHAR, hi::VARCHAR FROM _nets WHERE kind = 'home' "
                           "ORDER BY lo").fetchall()
        apps = con.execute("SELECT count(*) FROM _apps").fetchall()[0][0]
    assert nets == [(n.cidr, str(n.lo), str(n.hi)) for n in sorted(config.home, key=lambda n: n.lo)]
    assert len(nets) == 2
    assert apps == sum(len(sig) for sig in config.applications.values()) > 0
