"""The case's alerts on the server: /alerts.html is `forensics alerts -o`'s page (timeline, series, evidence) with a
download link per alert whose bytes equal `forensics carve --alert ID`; it loads in headless Chromium with no
console error and no request; the index links to it and to each alert's pcap."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

import pytest
from browser import Browser
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from forensics.config import load_config  # noqa: E402
from forensics.serve import CaseSource, create_app  # noqa: E402
from tests.builders import pcap_file  # noqa: E402
from tests.checks.checkgen import T0, spread, syn_frame  # noqa: E402
from tests.inprocess import cli  # noqa: E402

VICTIM = "10.0.0.80"


def forensics(*args):
    """In-process (tests.inprocess.cli): each call here is a success whose output the test compares."""
    return cli(*args)


@pytest.fixture(scope="module")
def flooded(tmp_path_factory):
    """SYNs to two victims in 30-s bins (alerts at 1 pps), answered background; syn_flood run on the case."""
    folder = tmp_path_factory.mktemp("alerts")
    recs = []
    for i, n in enumerate([60, 75, 10]):
        recs += spread(T0 + dt.timedelta(seconds=30 * i), n,
                       lambda k, i=i: syn_frame(f"198.51.100.{k % 200 + 1}", VICTIM, 1024 + 100 * i + k, 80))
    for i, n in enumerate([40, 40]):
        recs += spread(T0 + dt.timedelta(minutes=5, seconds=30 * i), n,
                       lambda k, i=i: syn_frame(f"203.0.113.{k % 50 + 1}", "10.0.0.81", 2000 + 50 * i + k, 22))
    recs += spread(T0, 50, lambda k: syn_frame(VICTIM, "198.51.100.1", 80, 1024 + k, 0x12), 90)
    pcap = folder / "flood.pcap"
    pcap.write_bytes(pcap_file(sorted(recs, key=lambda r: r[0])))
    db = folder / "case.duckdb"
    assert forensics("import", "--quiet", "--db", str(db), str(pcap)).returncode == 0
    run = forensics("check", "syn_flood", "--db", str(db), "--param", "syn_flood.home_pps=1", "--json")
    assert run.returncode == 0, run.stderr
    alerts = json.loads(run.stdout)["response"]["result"]["data"]["alerts"]
    assert {a["entity"] for a in alerts} == {VICTIM, "10.0.0.81"}
    return folder, db, alerts


@pytest.fixture(scope="module")
def client(flooded):
    _, db, _ = flooded
    with TestClient(create_app(CaseSource(str(db), load_config(None, str(db)))), raise_server_exceptions=False) as c:
        yield c


def test_alerts_page_links_download_what_forensics_carve_writes(flooded, client):
    folder, db, alerts = flooded
    page = client.get("/alerts.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="timeline"' in page.text and 'href="/"' in page.text
    links = re.findall(r'class="carve-download" href="(/alerts/(\d+)\.pcap)"', page.text)
    assert sorted(int(i) for _, i in links) == sorted(a["id"] for a in alerts)
    for href, alert_id in links:
        got = client.get(href)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "application/vnd.tcpdump.pcap"
        assert f'filename="alert-{alert_id}.pcap"' in got.headers["content-disposition"]
        out = folder / f"cli-{alert_id}.pcap"
        run = forensics("carve", "--db", str(db), "--alert", alert_id, "-w", str(out))
        assert run.returncode == 0, run.stderr
        assert got.content == out.read_bytes() and len(got.content) > 24
    missing = client.get("/alerts/999.pcap")
    assert missing.status_code == 404 and "no alert 999" in missing.text
    assert client.get("/alerts/x.pcap").status_code in (400, 404, 422)
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("forensics-serve-*"))


def test_index_links_the_alerts_page_and_each_pcap(flooded, client):
    _, _, alerts = flooded
    page = client.get("/").text
    assert 'href="/alerts.html"' in page
    for a in alerts:
        assert f'href="/alerts/{a["id"]}.pcap"' in page


def test_alerts_page_loads_in_chromium_without_errors_or_requests(client, tmp_path):
    with Browser() as browser:
        for name, url in {"alerts": "/alerts.html", "index": "/"}.items():
            r = client.get(url)
            assert r.status_code == 200
            assert not re.search(r'(src|href|action)="(https?:)?//', r.text)
            path = tmp_path / f"{name}.html"
            path.write_text(r.text, encoding="utf-8")
            report = browser.load(path, {"links": "document.querySelectorAll('a.carve-download, a.alert-pcap').length",
                                         "bars": "document.querySelectorAll('svg.timeline rect').length"})
            assert report.console_errors == [] and report.exceptions == [] and report.requests == [], name
            assert report.values["links"] >= 2
            if name == "alerts":
                assert report.values["bars"] >= 2
