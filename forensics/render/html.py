"""HTML pages from the Jinja2 templates in report_templates/: self-contained, offline, autoescaped."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from forensics.render.chart import Chart, build_chart, item_color
from forensics.render.commands import carve_command
from forensics.render.genieatm import report_path
from forensics.render.jsonout import iso_z
from forensics.render.text import BINNING_TEXT
from forensics.render.units import (
    bin_label,
    format_value,
    human_rate,
    is_rate,
    measure_header,
    unit_caption,
    unit_of,
)
from forensics.reports.result import Item, ReportResult, SectionResult
from forensics.resources import templates_dir


@dataclass
class RowView:
    """One table row: the item, its formatted values, and the command that carves its packets."""

    item: Item
    color: str
    cells: list[str]
    carve: str | None
    carve_why: str


@dataclass
class SectionView:
    """One section as the page shows it: its chart (or none when it is empty), its table and counts."""

    section: SectionResult
    chart: Chart
    headers: list[str] = field(default_factory=list)
    rows: list[RowView] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        """Items in the table, the Others row included."""
        return len(self.section.items)

    @property
    def named_count(self) -> int:
        """Items in the table, the Others row excluded."""
        return sum(1 for it in self.section.items if not it.others)


def section_view(result: ReportResult, section: SectionResult) -> SectionView:
    """The page's view of one section."""
    units = [unit_of(result, m) for m in section.measures]
    view = SectionView(section, build_chart(result, section),
                       [measure_header(result, m) for m in section.measures])
    for i, item in enumerate(section.items):
        cmd, why = carve_command(result, section, item)
        view.rows.append(RowView(item, item_color(i, item.others),
                                 [format_value(v, u) for v, u in zip(item.values, units, strict=False)], cmd, why))
    return view


@dataclass
class ReportPage:
    """The context of report.html."""

    result: ReportResult
    sections: list[SectionView]
    page_title: str
    index_href: str | None = None


@dataclass
class IndexEntry:
    """One report linked from the index page."""

    href: str
    title: str
    name: str
    description: str
    items: int


@dataclass
class IndexPage:
    """The context of index.html."""

    page_title: str
    entries: list[IndexEntry] = field(default_factory=list)
    window: str = ""


def environment(user_dir: Path | None = None) -> jinja2.Environment:
    """Jinja2 with autoescape always on; a user folder's templates override the bundled ones."""
    loaders: list[jinja2.BaseLoader] = []
    if user_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(user_dir)))
    bundled = jinja2.FileSystemLoader(str(templates_dir()))
    loaders.append(bundled)
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([*loaders, jinja2.PrefixLoader({"default": bundled})]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["rate"] = human_rate
    env.filters["iso"] = iso_z
    env.globals["bin_label"] = bin_label
    env.globals["unit_of"] = unit_of
    env.globals["unit_caption"] = unit_caption
    env.globals["is_rate"] = is_rate
    env.globals["report_path"] = report_path
    env.globals["binning_text"] = BINNING_TEXT
    env.globals["asset"] = _asset
    return env


def _asset(name: str) -> str:
    """Text of a bundled asset (CSS or JS written for these pages) for inlining; never capture data."""
    from markupsafe import Markup

    return Markup((templates_dir() / "assets" / name).read_text(encoding="utf-8"))


def render_html(result: ReportResult, index_href: str | None = None) -> str:
    """One self-contained HTML page for a report (report-<name>.html overrides report.html)."""
    env = environment()
    template = env.select_template([f"report-{result.name}.html", "report.html"])
    page = ReportPage(result, [section_view(result, s) for s in result.sections], result.title, index_href)
    return template.render(page=page)


def render_index(page: IndexPage) -> str:
    """The index page linking each report."""
    return environment().get_template("index.html").render(page=page)
