"""A folder of report pages plus an index (what `forensics demo` writes)."""

from __future__ import annotations

from pathlib import Path

from forensics.render.html import IndexEntry, IndexPage, render_html, render_index
from forensics.render.jsonout import iso_z
from forensics.reports.result import ReportResult


def write_site(results: list[ReportResult], out_dir: Path, title: str,
               extra: list[IndexEntry] | None = None) -> Path:
    """Write one HTML page per report and index.html linking each (and the `extra` pages already written,
    such as alerts.html); returns the index path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for result in results:
        href = f"{result.name}.html"
        (out_dir / href).write_text(render_html(result, index_href="index.html"), encoding="utf-8")
        entries.append(IndexEntry(href, result.title, result.name, result.description,
                                  sum(len(s.items) for s in result.sections)))
    entries += list(extra or [])
    window = ""
    if results:
        window = f"{iso_z(min(r.start for r in results))} .. {iso_z(max(r.end for r in results))}"
    index = out_dir / "index.html"
    index.write_text(render_index(IndexPage(title, entries, window)), encoding="utf-8")
    return index
