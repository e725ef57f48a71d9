"""Where the bundled SQL files and templates live: inside the installed package, or at the checkout's top."""

from __future__ import annotations

import functools
import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=8)
def _find(name: str) -> Path:
    for candidate in (_PKG / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled folder {name!r} not found next to {_PKG}; reinstall forensics")


def queries_dir() -> Path:
    """The bundled `queries/` folder (schema, derive, reports, checks)."""
    return _find("queries")


def templates_dir() -> Path:
    """The bundled `report_templates/` folder."""
    return _find("report_templates")


def read_sql(relative: str) -> str:
    """Text of a bundled SQL file, e.g. read_sql('schema/tables.sql'). Kept while the file's size and modification
    time stay (a report reads some fifteen of them)."""
    path = queries_dir() / relative
    st = os.stat(path)
    return _read(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _read(path: Path, mtime_ns: int, size: int) -> str:
    return path.read_text(encoding="utf-8")
