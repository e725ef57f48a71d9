"""The browsable case: an index (reports with a parameter form, captures with provenance, alerts) and each
report's page from the HTML renderer, with the form above it. Pages are self-contained (inline CSS and JS,
a Content-Security-Policy that forbids any other origin) and link only to this server."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from urllib.parse import quote, urlencode

from forensics.checks import load_alerts
from forensics.errors import UsageError
from forensics.render.alerts import render_alerts_html
from forensics.render.commands import carve_command
from forensics.render.html import environment, render_html
from forensics.reports import SITE_REPORTS, ReportResult, list_reports, run_report
from forensics.reports.timebins import PERIODS
from forensics.serve.caseaccess import CaseSource, list_alerts, list_captures, list_coverage
from forensics.store import Case

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Form fields of a report page -> run_report's option names (filter goes to filter_expr).
FORM_FIELDS = ("from", "to", "period", "end", "bin", "unit", "ip_version", "scope", "top", "filter")
# Alerts shown on the index page (all of them are at /api/alerts).
INDEX_ALERTS = 200
# Width in pixels of the coverage strip (one bar per capture interface over the case's whole time range).
COVERAGE_WIDTH = 600


def _env():  # noqa: ANN202 - a jinja2.Environment
    return environment(TEMPLATES)


def _catalog(source: CaseSource) -> list:
    catalog = list_reports((*source.config.queries_dirs, *source.queries_dirs))
    order = {n: i for i, n in enumerate(SITE_REPORTS)}
    return sorted((catalog[n] for n in catalog.names()), key=lambda d: (order.get(d.name, len(order)), d.name))


def _form_html(source: CaseSource, name: str | None, values: dict) -> str:
    """The parameter form, escaped by its own template (the index page inserts it with `| safe`)."""
    return (_env().get_template("serve_form.html").render(
        reports=_catalog(source), chosen=name, values=values, periods=PERIODS))


def index_page(case: Case, source: CaseSource) -> str:
    """The case's front page."""
    captures = list_captures(case)
    alerts = list_alerts(case, INDEX_ALERTS)
    return _env().get_template("serve_index.html").render(
        page={"page_title": f"Case {Path(source.db).name}"}, db=source.db,
        config=source.config.source or "built-in defaults", reports=_catalog(source), captures=captures,
        alerts=alerts, coverage=coverage_layout(list_coverage(case)), width=COVERAGE_WIDTH,
        form=_form_html(source, None, {}))


def coverage_layout(coverage: dict, width: int = COVERAGE_WIDTH) -> dict:
    """The coverage rows with each one's bar (x, w in pixels) over the case's first-to-last time."""
    spans = coverage["spans"]
    timed = [s for s in spans if s["first_us"] is not None]
    lo = min((s["first_us"] for s in timed), default=0)
    hi = max((s["last_us"] for s in timed), default=0)
    scale = width / max(hi - lo, 1)
    for s in spans:
        if s["first_us"] is None:
            s["bar"] = None
        else:
            x = (s["first_us"] - lo) * scale
            s["bar"] = (round(x, 1), round(max((s["last_us"] - s["first_us"]) * scale, 2.0), 1))
    return {**coverage, "start": min((s["first_ts"] for s in timed), default=None),
            "end": max((s["last_ts"] for s in timed), default=None)}


def run_page_report(case: Case, source: CaseSource, name: str, form: dict) -> ReportResult:
    """Run a report with a page's parameters (FORM_FIELDS; anything else is a UsageError naming it)."""
    unknown = sorted(set(form) - set(FORM_FIELDS))
    if unknown:
        raise UsageError(f"page parameter {unknown[0]!r}: use {', '.join(FORM_FIELDS)}")
    params: dict = {k: v for k, v in form.items() if k != "filter"}
    if "top" in params:
        try:
            params["top"] = int(params["top"])
        except ValueError:
            raise UsageError(f"top {params['top']!r}: give a whole number") from None
    return run_report(case, name, params, config=source.config, queries_dirs=source.queries_dirs,
                      filter_expr=form.get("filter"))


def report_page(case: Case, source: CaseSource, name: str, form: dict) -> str:
    """A report's HTML page (the HTML renderer's) for the form's parameters, the form above it."""
    result = run_page_report(case, source, name, form)
    page = _with_carve_links(render_html(result, index_href="/"), result, form)
    return page.replace("<main>", "<main>\n" + _form_html(source, name, form), 1)


_CARVE_CELL = re.compile(r'(<td class="carve" data-value="(\d+)"><details><summary>carve</summary>)')


def _with_carve_links(page: str, result: ReportResult, form: dict) -> str:
    """A download link in each carvable row's carve cell (the rows, in page order, that carve_command accepts)."""
    links = []
    for section in result.sections:
        for item in section.items:
            if carve_command(result, section, item)[0] is not None:
                query = {**form, **({"section": section.name} if section is not result.sections[0] else {})}
                href = f"/carve/{quote(result.name)}/{item.rank}.pcap"
                if query:
                    href += "?" + urlencode(query)
                links.append((item.rank, href))
    cells = iter(links)

    def link(match: re.Match) -> str:
        rank, href = next(cells, (None, None))
        if rank is None or str(rank) != match.group(2):
            return match.group(1)  # the page and the result disagree: leave the cell as the renderer wrote it
        return f'{match.group(1)}<a class="carve-download" href="{escape(href)}">download pcap</a> '

    return _CARVE_CELL.sub(link, page)


_ALERT_CARVE = re.compile(r"(<code>forensics carve --alert (\d+) -w [^<]*</code>)(</td></tr>)")


def alerts_html(case: Case) -> str:
    """The alerts page of `forensics alerts -o` (timeline, series, evidence) for every stored alert, each with
    a link that downloads its carved packets (/alerts/ID.pcap)."""
    page = render_alerts_html(load_alerts(case), index_href="/")

    def link(match: re.Match) -> str:
        return (f'{match.group(1)} &middot; <a class="carve-download" href="/alerts/{match.group(2)}.pcap">'
                f"download pcap</a>{match.group(3)}")

    return _ALERT_CARVE.sub(link, page)


def error_page(status: int, msg: str) -> str:
    """A page that says what went wrong, with a link back to the index."""
    return _env().get_template("serve_error.html").render(page={"page_title": f"{status}"}, status=status, msg=msg)
