"""HTML pages in headless Chromium: chart and tables render, no console error, no network request,
nothing from a capture or config runs as script. Fails (never skips) when chromium is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import Browser
from render_values import HOSTILE_NET, HOSTILE_PATH

from forensics.render import render
from forensics.render.chart import chart_measures
from forensics.render.commands import carve_command
from forensics.render.site import write_site
from forensics.reports import SITE_REPORTS

PROBES = {
    "lines": "document.querySelectorAll('svg.chart polyline.line').length",
    "charts": "document.querySelectorAll('svg.chart').length",
    "rows": "Array.from(document.querySelectorAll('table.topn')).map(t => t.tBodies[0].rows.length)",
    "sortable": "document.querySelectorAll('table.sortable[data-sortable-ready]').length",
    "xss": "typeof window.__xss",
    "imgs": "document.images.length",
    "text": "document.body.textContent",
    "links": "Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))",
    "commands": "Array.from(document.querySelectorAll('td.carve code.cmd')).map(c => c.textContent)",
}


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def site(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    index = write_site([results[n] for n in SITE_REPORTS], out, "Case <b>report</b>")
    return index


def expected_lines(result):
    """One line per item and drawn measure with any traffic (computed from the result, not the page)."""
    n = 0
    for section in result.sections:
        for m in chart_measures(result, section):
            j = section.measures.index(m)
            n += len({i for row in section.series.values() for i, v in row.items() if (v[j] or 0) > 0})
    return n


def assert_clean(page):
    assert page.console_errors == []
    assert page.exceptions == []
    assert page.requests == []


@pytest.mark.parametrize("name", SITE_REPORTS)
def test_report_page_renders_chart_and_tables(browser, site, results, name):
    result = results[name]
    page = browser.load(site.parent / f"{name}.html", PROBES)
    assert_clean(page)
    assert page.values["charts"] == sum(1 for s in result.sections if any(s.series.values()))
    assert page.values["lines"] == expected_lines(result)
    assert page.values["rows"] == [max(1, len(s.items)) for s in result.sections]
    assert page.values["sortable"] >= len(result.sections) + 1  # top-N tables and the sources table
    assert page.values["xss"] == "undefined" and page.values["imgs"] == 0
    assert HOSTILE_PATH in page.values["text"]  # shown as text, not run
    assert "SELECT" in page.values["text"] and "from_ts" in page.values["text"]
    want = [cmd for s in result.sections for it in s.items if (cmd := carve_command(result, s, it)[0])]
    assert page.values["commands"] == want


def test_legend_click_shows_one_item_alone(browser, results, tmp_path):
    path = tmp_path / "talkers.html"
    path.write_text(render(results["top_talkers"], "html"))
    click = ("(() => { const fig = document.querySelector('figure.timeseries');"
             " fig.querySelector('ul.legend li[data-key=\"2\"]').click();"
             " const on = Array.from(fig.querySelectorAll('g.series:not(.off)')).map(g => g.dataset.key);"
             " fig.querySelector('ul.legend li[data-key=\"2\"]').click();"
             " return [on, fig.querySelectorAll('g.series.off').length]; })()")
    page = browser.load(path, {"after": click})
    assert_clean(page)
    shown, faded_after_second_click = page.values["after"]
    assert shown and set(shown) == {"2"} and faded_after_second_click == 0


def test_capture_and_config_strings_are_text_not_markup(browser, site, results):
    assert any(HOSTILE_NET in (it.names[0] or "") for it in results["subnetwork_compare"].sections[0].items)
    page = browser.load(site.parent / "subnetwork_compare.html", PROBES)
    assert_clean(page)
    assert HOSTILE_NET in page.values["text"]
    assert page.values["xss"] == "undefined" and page.values["imgs"] == 0


def test_index_links_every_report(browser, site):
    page = browser.load(site, PROBES)
    assert_clean(page)
    assert page.values["links"] == [f"{n}.html" for n in SITE_REPORTS]
    assert "Case <b>report</b>" in page.values["text"]


def test_sorting_a_column_reorders_rows_and_keeps_others_last(browser, results, tmp_path):
    path = tmp_path / "talkers.html"
    result = results["top_talkers"]
    path.write_text(render(result, "html"))
    click_in = ("(() => { const t = document.querySelector('table.topn');"
                " t.tHead.rows[0].cells[2].click();"
                " return Array.from(t.tBodies[0].rows).map(r => [r.cells[0].textContent,"
                " r.cells[2].getAttribute('data-value')]); })()")
    page = browser.load(path, {"order": click_in})
    assert_clean(page)
    order = page.values["order"]
    items = [it for it in result.sections[0].items if not it.others]
    others = [it for it in result.sections[0].items if it.others]
    assert others, "the test needs an Others row"
    head, tail = order[: len(items)], order[len(items):]
    assert [float(v) for _, v in head] == sorted(it.values[0] for it in items)
    assert sorted(r for r, _ in head) == sorted(str(it.rank) for it in items)
    assert [r for r, _ in tail] == [str(it.rank) for it in others]


def test_the_checks_can_fail(browser, tmp_path):
    """The harness sees a request and a console error on a page that makes them (so a pass means something)."""
    bad = Path(tmp_path / "bad.html")
    bad.write_text('<html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>'
                   "</body></html>")
    page = browser.load(bad, {})
    assert any(u.startswith("http://127.0.0.1:9/") for u in page.requests)
    assert page.console_errors
