"""A write-open applies the schema only when it changed: the digest of what was applied is kept in the catalog
(forensics/store Case._apply_schema); an unchanged case is left as it is, a changed schema, a view dropped by hand
or a case written meanwhile by a version that does not keep the digest gets the schema again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import forensics.store as store
from forensics.store import Case, lake


@pytest.fixture(params=["lake", "file"])
def case_path(request, tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_LAYOUT", request.param)
    path = tmp_path / ("case" if request.param == "lake" else "case.duckdb")
    Case.open(path).close()  # a new, empty case
    return path


def _catalog_bytes(path: Path) -> str:
    """sha256 of the catalog file (a lake's case.duckdb, or the single file)."""
    return hashlib.sha256(Path(lake.catalog_path(path) if lake.is_lake(path) else path).read_bytes()).hexdigest()


def _views(case: Case) -> set[str]:
    return {r[0] for r in case.con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal AND NOT "
                                           "temporary AND database_name = current_database()").fetchall()}


def test_unchanged_case_is_left_alone(case_path):
    with Case.open(case_path) as case:
        digest = case._schema_digest()
    assert digest and len(digest.split()[0]) == 64
    before = _catalog_bytes(case_path)
    with Case.open(case_path) as case:  # same schema: nothing replaced, nothing written
        assert case._schema_digest() == digest
    assert _catalog_bytes(case_path) == before


def test_changed_schema_is_applied(case_path, monkeypatch):
    with Case.open(case_path) as case:
        digest = case._schema_digest()
    before = _catalog_bytes(case_path)
    real = store.read_sql
    monkeypatch.setattr(store, "read_sql", lambda rel: real(rel) + ("\n-- changed" if rel.endswith("alerts.sql")
                                                                    else ""))
    with Case.open(case_path) as case:
        assert case._schema_digest() not in (None, digest)
    assert _catalog_bytes(case_path) != before


def test_view_dropped_by_hand_is_put_back(case_path):
    with Case.open(case_path) as case:
        views = _views(case)
        case.con.execute("DROP VIEW conversations")
    with Case.open(case_path) as case:
        assert _views(case) == views
        assert case.con.execute("SELECT count(*) FROM conversations").fetchone() == (0,)


def test_write_by_a_version_without_digest_is_redone(case_path):
    with Case.open(case_path) as case:
        digest = case._schema_digest()
        # what any schema application does to the view that carries the digest: replaced, comment gone
        case.con.execute("CREATE OR REPLACE VIEW conversations AS SELECT 1 AS stale")
        assert case._schema_digest() is None
    with Case.open(case_path) as case:
        assert case._schema_digest() == digest
        assert "stale" not in [d[0] for d in case.con.execute("SELECT * FROM conversations LIMIT 0").description]
