"""Where the bundled SQL files and templates live: inside the installed package, or at the checkout's top."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


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
    """Text of a bundled SQL file, e.g. read_sql('schema/tables.sql')."""
    return (queries_dir() / relative).read_text(encoding="utf-8")
