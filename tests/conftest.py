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


@pytest.fixture
def case(tmp_path):
    from forensics.store import Case

    c = Case.open(tmp_path / "case.duckdb")
    yield c
    c.close()


# FORENSICS_LAYOUT=lake runs the suite on lake cases (forensics/store/lake.py): every new case path, .duckdb
# included, becomes a case folder. Tests that open a case with duckdb.connect(path) get what README.md in the
# folder tells a plain duckdb user to do: the catalog, with file_search_path set to the folder.
if os.environ.get("FORENSICS_LAYOUT") == "lake":
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


def pytest_report_header() -> str:
    return f"case layout: {os.environ.get('FORENSICS_LAYOUT', 'file')} (FORENSICS_LAYOUT=lake: case folders)"
