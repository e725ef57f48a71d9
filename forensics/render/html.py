"""HTML pages from the Jinja2 templates in report_templates/: self-contained, offline, autoescaped."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from forensics.render.chart import Chart, build_chart
from forensics.render.jsonout import iso_z
from forensics.render.units import bin_label, human_rate
from forensics.reports.result import ReportResult, SectionResult
from forensics.resources import templates_dir


@dataclass
class SectionView:
    """One section as the page shows it: its table and its chart."""

    section: SectionResult
    chart: Chart


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
    page = ReportPage(result, [SectionView(s, build_chart(result, s)) for s in result.sections],
                      result.title, index_href)
    return template.render(page=page)


def render_index(page: IndexPage) -> str:
    """The index page linking each report."""
    return environment().get_template("index.html").render(page=page)
