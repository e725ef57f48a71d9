"""Shared fixtures: the public corpus beside the project, and temporary cases."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


def corpus_rows() -> list[dict]:
    """Rows of ../shared/corpus/MANIFEST.tsv (fails loudly when the corpus is missing)."""
    manifest = CORPUS / "MANIFEST.tsv"
    if not manifest.exists():
        raise FileNotFoundError(f"{manifest} missing: the tests need ../shared beside the checkout")
    with manifest.open(newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def corpus_path(row: dict) -> Path:
    return CORPUS / row["path"]


def copy_case(src: str | Path, dst: str | Path) -> Path:
    """Copy a case to `dst`, whichever its layout: the single .duckdb file, or the whole lake folder (a lake's
    `case.duckdb` alone is only its catalog). Returns `dst`."""
    import shutil

    src, dst = Path(src), Path(dst)
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copy(src, dst)
    return dst


def case_database(path: str | Path) -> Path:
    """The DuckDB database file of a case: the .duckdb file itself, or a lake folder's catalog (whose
    write-ahead log is then `case.duckdb.wal` inside the folder)."""
    path = Path(path)
    return path / "case.duckdb" if path.is_dir() else path


@pytest.fixture
def case(tmp_path):
    from forensics.store import Case

    c = Case.open(tmp_path / "case.duckdb")
    yield c
    c.close()


# The suite runs on lake cases (forensics/store/lake.py), the default layout: every new case path, .duckdb
# included, becomes a case folder; FORENSICS_LAYOUT=file runs it on single files. Tests that open a case with
# duckdb.connect(path) get what README.md in the folder tells a plain duckdb user to do: the catalog, with
# file_search_path set to the folder.
if os.environ.get("FORENSICS_LAYOUT", "lake") != "file":
    import duckdb

    _connect = duckdb.connect

    def _connect_lake_aware(database: object = ":memory:", *args: object, **kwargs: object) -> object:
        from forensics.store import lake

        if isinstance(database, str | Path) and lake.is_lake(database):
            con = _connect(lake.catalog_path(database), *args, **kwargs)
            lake.set_search_path(con, database)
            return con
        return _connect(database, *args, **kwargs)

    duckdb.connect = _connect_lake_aware


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "single_file: the test checks single-file internals (hand-built schema-1/2 "
                            "databases, the .duckdb file itself): its new cases are single files whatever "
                            "FORENSICS_LAYOUT says")


@pytest.fixture(autouse=True)
def _pinned_layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """FORENSICS_LAYOUT=file for a test marked single_file (and the commands it runs)."""
    if request.node.get_closest_marker("single_file") is not None:
        monkeypatch.setenv("FORENSICS_LAYOUT", "file")


def pytest_report_header() -> str:
    return f"case layout: {os.environ.get('FORENSICS_LAYOUT', 'lake')} (FORENSICS_LAYOUT=file: single files)"
