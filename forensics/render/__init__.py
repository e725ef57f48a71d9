"""Renderers: ReportResult -> text, keyed by format. Never touches the database.

    text = render(result, "json")        # table | csv | json | html
"""

from __future__ import annotations

from collections.abc import Callable

from forensics.errors import UsageError
from forensics.render.jsonout import render_error_json, render_json
from forensics.render.text import render_csv, render_table
from forensics.reports.result import ReportResult


def _html(result: ReportResult) -> str:
    from forensics.render.html import render_html  # jinja2 only when HTML is asked for

    return render_html(result)


RENDERERS: dict[str, Callable[[ReportResult], str]] = {
    "table": render_table,
    "csv": render_csv,
    "json": render_json,
    "html": _html,
}


def render(result: ReportResult, fmt: str, output_file: str | None = None) -> str:
    """Render a result in one of RENDERERS' formats (`output_file` is recorded in the JSON envelope)."""
    if fmt not in RENDERERS:
        raise UsageError(f"format {fmt!r}: use one of {', '.join(RENDERERS)}")
    if fmt == "json":
        return render_json(result, output_file)
    return RENDERERS[fmt](result)


__all__ = ["RENDERERS", "render", "render_error_json"]
