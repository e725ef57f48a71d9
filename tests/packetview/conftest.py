"""Packet-view tests: every corpus capture libpcap reads, imported once into one in-memory case."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from view_helpers import CORPUS, libpcap_captures  # noqa: E402


@pytest.fixture(scope="session")
def corpus_case():
    """(case, {corpus path: capture id}) for every capture of libpcap_captures()."""
    from forensics.ingest import ImportOptions, import_paths
    from forensics.store import Case

    case = Case.open(":memory:")
    rows = libpcap_captures()
    summary = import_paths(case, [str(CORPUS / r["path"]) for r in rows], ImportOptions(workers=1))
    ids = {}
    for row, result in zip(rows, summary.files, strict=True):
        assert result.capture_id is not None, (row["path"], result.status, result.message)
        ids[row["path"]] = result.capture_id
    yield case, ids
    case.close()
