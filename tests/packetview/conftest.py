"""Packet-view tests: the corpus captures libpcap reads, each imported on first use into one in-memory case."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from view_helpers import CORPUS  # noqa: E402


class _ImportedOnDemand(dict):
    """{corpus path: capture id}; a path not yet in the case is imported when first asked for, so a run
    imports only the captures its tests read."""

    def __init__(self, case: object) -> None:
        super().__init__()
        self.case = case

    def __missing__(self, path: str) -> int:
        from forensics.ingest import ImportOptions, import_paths

        [result] = import_paths(self.case, [str(CORPUS / path)], ImportOptions(workers=1)).files
        assert result.capture_id is not None, (path, result.status, result.message)
        self[path] = result.capture_id
        return result.capture_id


@pytest.fixture(scope="session")
def corpus_case():
    """(case, {corpus path: capture id}) for the captures of libpcap_captures(), imported on first use into one
    in-memory case."""
    from forensics.store import Case

    case = Case.open(":memory:")
    yield case, _ImportedOnDemand(case)
    case.close()
