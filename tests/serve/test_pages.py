"""The browsable case: the index lists every report, the captures with their provenance and the alerts; each
report's page is the HTML renderer's page for the form's parameters; pages load in headless Chromium with no
console error and no request (fails, never skips, without chromium)."""

from __future__ import annotations

import re

import pytest
from browser import Browser

from forensics.reports import list_reports


def test_index_lists_reports_captures_and_the_form(client, case_path):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    for name in list_reports().names():
        assert f'href="/report/{name}.html"' in page
    assert "generated.csv" in page and "0" * 12 in page  # the capture and its sha256 (flowgen's)
    assert 'action="/report"' in page and str(case_path) in page
    assert "No alerts: no check has raised one" in page  # a new case has the alerts table, empty


def test_report_page_follows_the_form(client):
    r = client.get("/report", params={"name": "top_talkers", "from": "", "unit": "pps", "ip_version": "4"},
                   follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/report/top_talkers.html?unit=pps&ip_version=4"
    page = client.get(r.headers["location"]).text
    assert "<th data-type=\"number\">in (pps" in page  # the HTML renderer's table header in the asked unit
    assert re.search(r'<option value="4" selected>IPv4</option>', page)
    assert '<option selected>pps</option>' in page


@pytest.mark.parametrize("url,status,text", [
    ("/report/no_such.html", 404, "no_such"),
    ("/report/top_talkers.html?unit=furlongs", 400, "furlongs"),
    ("/report/top_talkers.html?filter=tcp%20port", 400, "filter"),
    ("/report/top_talkers.html?colour=red", 400, "colour"),
    ("/report/top_talkers.html?from=<script>x</script>", 400, "&lt;script&gt;"),
])
def test_page_errors_are_pages_with_the_status(client, url, status, text):
    r = client.get(url)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    assert text in r.text and "<script>x" not in r.text and "Traceback" not in r.text


def test_pages_load_in_chromium_without_errors_or_requests(client, tmp_path):
    pages = {"index": "/", "summary": "/report/internet_summary.html",
             "talkers": "/report/top_talkers.html?period=daily&end=2016-09-06T14:00:00Z&unit=pps"}
    with Browser() as browser:
        for name, url in pages.items():
            r = client.get(url)
            assert r.status_code == 200, r.text
            assert not re.search(r'(src|href|action)="(https?:)?//', r.text)
            path = tmp_path / f"{name}.html"
            path.write_text(r.text, encoding="utf-8")
            report = browser.load(path, {"forms": "document.forms.length",
                                         "tables": "document.querySelectorAll('table').length"})
            assert report.console_errors == [] and report.exceptions == [] and report.requests == [], name
            assert report.values["forms"] == 1 and report.values["tables"] >= 1
