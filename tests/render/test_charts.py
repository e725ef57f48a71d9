"""Charts as a browser draws them (headless Chromium): in/out mirrored and never summed, no chart for an empty
report, dated axes over a long case, long hashes on one line. Geometry is read from the rendered SVG
(getBBox), values from the report result; fails (never skips) when chromium is missing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from browser import Browser
from flowgen import load_case, make_flows
from render_values import WINDOW

from forensics.render import render
from forensics.reports import run_report


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def assert_clean(page):
    assert page.console_errors == [] and page.exceptions == [] and page.requests == []


def direction_peaks(section, rank):
    """(peak in, peak out, peak of in + out in one bin) of the item with this rank, from the result."""
    pos = next(i for i, it in enumerate(section.items) if it.rank == rank)
    j_in, j_out = section.measures.index("in"), section.measures.index("out")
    rows = [row[pos] for row in section.series.values() if pos in row]
    return (max((v[j_in] or 0) for v in rows), max((v[j_out] or 0) for v in rows),
            max((v[j_in] or 0) + (v[j_out] or 0) for v in rows))


def test_in_out_chart_peaks_at_the_larger_direction_not_the_sum(browser, results, tmp_path):
    result = results["top_talkers"]
    section = result.sections[0]
    # the host whose in + out in one bin most exceeds its larger direction: where a stacked chart lies most
    host = max((it for it in section.items if not it.others),
               key=lambda it: direction_peaks(section, it.rank)[2] - max(direction_peaks(section, it.rank)[:2]))
    peak_in, peak_out, peak_sum = direction_peaks(section, host.rank)
    assert peak_sum > 1.2 * max(peak_in, peak_out), "the generated case needs a host busy both ways in one bin"
    path = tmp_path / "talkers.html"
    path.write_text(render(result, "html"))
    label = host.label.replace("\\", "\\\\").replace("'", "\\'")
    probe = ("(() => { const svg = document.querySelector('svg.chart');"
             " const zero = parseFloat(svg.dataset.zeroY), scale = parseFloat(svg.dataset.scale);"
             " const box = d => { const g = Array.from(svg.querySelectorAll('g.series')).find(g =>"
             f"   g.dataset.item === '{label} ' + d); return g ? g.querySelector('polyline').getBBox() : null; }};"
             " const i = box('in'), o = box('out');"
             " return {up: (zero - i.y) * scale, down: (o.y + o.height - zero) * scale, px: scale,"
             "         stacked: svg.querySelectorAll('rect.bar').length}; })()")
    page = browser.load(path, {"drawn": probe})
    assert_clean(page)
    drawn = page.values["drawn"]
    tolerance = 1.5 * drawn["px"]  # a pixel and a half of height
    assert abs(drawn["up"] - peak_in) <= tolerance
    assert abs(drawn["down"] - peak_out) <= tolerance
    assert max(drawn["up"], drawn["down"]) < peak_sum - tolerance
    assert drawn["stacked"] == 0


def test_empty_report_has_no_chart_and_says_so(browser, case, config, tmp_path):
    later = dt.datetime.fromisoformat(WINDOW["to"]) + dt.timedelta(days=2)
    result = run_report(case, "internet_summary", {"from": later.isoformat(),
                                                   "to": (later + dt.timedelta(hours=1)).isoformat()}, config=config)
    assert all(not it.values or not any(it.values) for s in result.sections for it in s.items)
    result.notes.append("Nothing matched: widen --from/--to.")
    path = tmp_path / "empty.html"
    path.write_text(render(result, "html"))
    page = browser.load(path, {
        "charts": "document.querySelectorAll('svg.chart').length",
        "empty": "Array.from(document.querySelectorAll('p.empty')).map(p => p.textContent)",
        "notes": "Array.from(document.querySelectorAll('ul.notes li')).map(li => li.textContent)",
    })
    assert_clean(page)
    assert page.values["charts"] == 0
    assert len(page.values["empty"]) == len(result.sections)
    assert all("No traffic" in t and "no chart" in t for t in page.values["empty"])
    assert page.values["notes"] == ["Nothing matched: widen --from/--to."]


@pytest.fixture(scope="module")
def two_year_result(tmp_path_factory):
    """A case whose flows sit at both ends of two years (the shape of issue 11's multi-year capture)."""
    flows = make_flows(40, seed=5)
    ends = (dt.datetime(2018, 1, 3, 10), dt.datetime(2019, 12, 28, 16))
    flows = [dataclasses.replace(f, ts=ends[i % 2] + dt.timedelta(minutes=i)) for i, f in enumerate(flows)]
    case = load_case(str(tmp_path_factory.mktemp("years") / "case.duckdb"), flows)
    try:
        yield run_report(case, "top_talkers", {"from": "2018-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"})
    finally:
        case.close()


def test_two_year_case_has_dated_axes_and_visible_points(browser, two_year_result, tmp_path):
    result = two_year_result
    path = tmp_path / "years.html"
    path.write_text(render(result, "html"))
    page = browser.load(path, {
        "labels": "Array.from(document.querySelectorAll('svg.chart text.xlabel')).map(t => t.textContent)",
        "dots": "document.querySelectorAll('svg.chart circle.dot').length",
        "title": "document.querySelector('svg.chart text.xtitle').textContent",
    })
    assert_clean(page)
    labels = page.values["labels"]
    assert len(labels) >= 3
    for label in labels:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2})?", label), label
    years = {label[:4] for label in labels}
    assert {"2018", "2019"} <= years
    section = result.sections[0]
    nonzero_bins = {t for t, row in section.series.items()
                    if any((v[section.measures.index(m)] or 0) > 0 for v in row.values() for m in ("in", "out"))}
    assert len(nonzero_bins) >= 2 and page.values["dots"] >= len(nonzero_bins)
    assert page.values["title"].startswith("date (UTC")


def test_sha256_on_one_line_full_value_on_hover_and_in_the_text(browser, results, tmp_path):
    result = results["top_talkers"]
    assert any(len(s.sha256) == 64 for s in result.sources)
    path = tmp_path / "hash.html"
    path.write_text(render(result, "html"))
    probe = ("Array.from(document.querySelectorAll('table.sources code.hash')).map(c => ({"
             " title: c.getAttribute('title'), text: c.textContent, copy: c.nextElementSibling.dataset.copy,"
             " height: c.getBoundingClientRect().height,"
             " twoLines: parseFloat(getComputedStyle(c).fontSize) * 2 }))")
    page = browser.load(path, {"hashes": probe})
    assert_clean(page)
    hashes = page.values["hashes"]
    assert [h["title"] for h in hashes] == [s.sha256 for s in result.sources]
    for h in hashes:
        assert h["text"] == h["title"] == h["copy"]
        assert h["height"] < h["twoLines"], "the hash wraps onto more than one line"


def test_more_bins_than_pixels_keeps_every_peak(browser, tmp_path_factory, tmp_path):
    """A year of 10-minute bins (52,560) is drawn one point per pixel column, each the peak of its bins."""
    flows = [dataclasses.replace(f, ts=dt.datetime(2019, 1, 1) + dt.timedelta(hours=29 * i))
             for i, f in enumerate(make_flows(300, seed=5))]
    case = load_case(str(tmp_path_factory.mktemp("year") / "case.duckdb"), flows)
    try:
        result = run_report(case, "top_talkers", {"from": "2019-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z",
                                                  "bin": "10min"})
    finally:
        case.close()
    section = result.sections[0]
    j_in, j_out = section.measures.index("in"), section.measures.index("out")
    peak_in = max((v[j_in] or 0) for row in section.series.values() for v in row.values())
    peak_out = max((v[j_out] or 0) for row in section.series.values() for v in row.values())
    path = tmp_path / "year.html"
    path.write_text(render(result, "html"))
    probe = ("(() => { const svg = document.querySelector('svg.chart');"
             " const zero = parseFloat(svg.dataset.zeroY), scale = parseFloat(svg.dataset.scale);"
             " const lines = d => Array.from(svg.querySelectorAll(`g.series[data-direction='${d}'] polyline`));"
             " return {up: Math.max(...lines('in').map(p => zero - p.getBBox().y)) * scale,"
             "  down: Math.max(...lines('out').map(p => { const b = p.getBBox(); return b.y + b.height - zero; }))"
             "   * scale, px: scale, per: parseInt(svg.dataset.pointsPerBin),"
             "  points: lines('in')[0].points.numberOfItems, size: document.documentElement.outerHTML.length}; })()")
    page = browser.load(path, {"drawn": probe})
    assert_clean(page)
    drawn = page.values["drawn"]
    assert drawn["per"] > 1 and drawn["points"] <= 900 and drawn["size"] < 2_000_000
    assert abs(drawn["up"] - peak_in) <= 1.5 * drawn["px"] and abs(drawn["down"] - peak_out) <= 1.5 * drawn["px"]
