"""Fixtures for the checks tests: a factory of generated, imported cases (closed after the test)."""

from __future__ import annotations

import pytest

from tests.checks.checkgen import make_case


@pytest.fixture
def tmp_case(tmp_path):
    cases = []

    def make(records, name="case", config=None):
        c = make_case(tmp_path, records, name, config)
        cases.append(c)
        return c

    yield make
    for c in cases:
        c.close()
