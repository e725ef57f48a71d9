"""Shared pieces for the filter tests: tests/ on sys.path (for builders), an in-memory case fixture."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


@pytest.fixture
def memcase():
    from forensics.store import Case

    case = Case.open(":memory:")
    yield case
    case.close()
