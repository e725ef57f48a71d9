"""Carve tests: a small case of corpus captures, imported once per module."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from carve_helpers import SOURCES, source  # noqa: E402


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from forensics.ingest import import_paths
    from forensics.store import Case

    c = Case.open(tmp_path_factory.mktemp("carve") / "case.duckdb")
    summary = import_paths(c, [str(source(n)) for n in SOURCES])
    assert all(f.status == "imported" for f in summary.files), [(f.path, f.status) for f in summary.files]
    yield c
    c.close()
