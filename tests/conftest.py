"""Shared fixtures: the public corpus beside the project, and temporary cases."""

from __future__ import annotations

import csv
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


@pytest.fixture
def case(tmp_path):
    from forensics.store import Case

    c = Case.open(tmp_path / "case.duckdb")
    yield c
    c.close()
