"""Shared fixtures: the public corpus beside the project, and temporary cases."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
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


# FORENSICS_FULL_CORPUS=1: corpus loops run on every file they select (the long run, bench/README.md);
# otherwise on corpus_sample() of it.
FULL_CORPUS = os.environ.get("FORENSICS_FULL_CORPUS") == "1"


def corpus_features(row: dict) -> set[str]:
    """What a MANIFEST row exercises: its container format, each link type, each category tag."""
    feats = {"format:" + row["format"].split(" (")[0].split(" sections")[0]}
    feats |= {"link:" + link.split(" [")[0] for link in row["link_types"].split(",") if link}
    feats |= {"idbs:" + link.split(" [")[1] for link in row["link_types"].split(",") if " [" in link}
    feats |= {"cat:" + c for c in row["categories"].split(";") if c}
    return feats


def corpus_sample(rows: list[dict], per_feature: int = 1) -> list[dict]:
    """A deterministic, representative subset of MANIFEST rows, in their given order: smallest file first,
    a row is kept while it brings a feature (corpus_features) seen fewer than `per_feature` times. Every
    format, link type and category among `rows` stays covered. All rows under FORENSICS_FULL_CORPUS=1."""
    if FULL_CORPUS:
        return list(rows)
    seen: dict[str, int] = {}
    keep: set[int] = set()
    for i, row in sorted(enumerate(rows), key=lambda ir: (int(ir[1]["size_bytes"]), ir[1]["path"])):
        feats = corpus_features(row)
        if any(seen.get(f, 0) < per_feature for f in feats):
            keep.add(i)
            for f in feats:
                seen[f] = seen.get(f, 0) + 1
    return [row for i, row in enumerate(rows) if i in keep]


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


# Long single tests go first (after the Spark group, the largest xdist work unit, which loadgroup hands out
# first): one of them started last would run alone while the other worker waits at the end.
RUN_FIRST = ("tests/test_packaging.py",)


# Modules whose module-scoped fixture imports corpus captures: each is one xdist work unit, so that fixture is
# built once, not once on each worker that gets one of its tests (loadgroup hands ungrouped tests out one by one).
ONE_WORKER = ("tests/filters/test_filter_corpus_tcpdump.py", "tests/ingest/test_corpus.py",
              "tests/readers/test_link_oracles.py", "tests/reports/test_link_layer.py",
              "tests/checks/test_demo_and_corpus.py", "tests/reports/test_semantics.py")


@pytest.hookimpl(tryfirst=True)  # before xdist names the groups in the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    first = {ROOT / name for name in RUN_FIRST}
    items.sort(key=lambda item: Path(item.path) not in first)
    grouped = {ROOT / name: name for name in ONE_WORKER}
    for item in items:
        if Path(item.path) in grouped and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(grouped[Path(item.path)]))


def pytest_report_header() -> str:
    return f"case layout: {os.environ.get('FORENSICS_LAYOUT', 'lake')} (FORENSICS_LAYOUT=file: single files)"


# A fresh checkout has no numba cache: compile the import path once, in two processes side by side
# (tests/numba_warm.py), while the xdist workers start and collect, instead of once per worker (and per
# `python -m forensics` started meanwhile). The controller waits for it before it hands out the first tests.
_warming: list[subprocess.Popen] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput") and CORPUS.is_dir():
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        _warming.extend(subprocess.Popen([sys.executable, "-m", "tests.numba_warm", kind], cwd=ROOT, env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for kind in ("pcap", "pcapng"))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: object, ids: list[str]) -> None:
    while _warming:
        _warming.pop().wait()
