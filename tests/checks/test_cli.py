"""`forensics check`, `alerts`, `packets --alert`, `carve --alert`: JSON envelope, HTML page, tcpdump as oracle."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from builders import pcap_file

from tests.checks.checkgen import T0, epoch, spread, syn_frame
from tests.inprocess import cli

VICTIM = "10.0.0.5"


def forensics(*args):
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def flooded(tmp_path_factory):
    """Bins of 30 s from T0: 60, 75, 10 SYNs to VICTIM (alert at 1 pps: bins 0-1), plus answered background."""
    folder = tmp_path_factory.mktemp("cli")
    recs = []
    for i, n in enumerate([60, 75, 10]):
        recs += spread(T0 + dt.timedelta(seconds=30 * i), n,
                       lambda k, i=i: syn_frame(f"198.51.100.{k % 200 + 1}", VICTIM, 1024 + 100 * i + k, 80))
    recs += spread(T0, 50, lambda k: syn_frame(VICTIM, "198.51.100.1", 80, 1024 + k, 0x12), 90)
    pcap = folder / "flood.pcap"
    pcap.write_bytes(pcap_file(sorted(recs, key=lambda r: r[0])))
    db = folder / "case.duckdb"
    assert cli("import", "--quiet", "--db", str(db), str(pcap)).returncode == 0
    return folder, pcap, db


def test_check_json_envelope_and_alerts_listing(flooded):
    folder, pcap, db = flooded
    run = cli("check", "syn_flood", "--db", str(db), "--param", "syn_flood.home_pps=1", "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)["response"]["result"]["data"]
    assert json.loads(run.stdout)["response"]["status"] == "succ"
    [alert] = data["alerts"]
    assert (alert["check"], alert["entity"], alert["window_start"], alert["window_end"], alert["unit"]) == \
        ("syn_flood", VICTIM, "2026-03-10T12:00:00Z", "2026-03-10T12:01:00Z", "pps")
    assert alert["value"] == pytest.approx(75 / 30) and alert["threshold"] == 1.0
    assert data["checks"][0]["params"]["home_pps"] == 1.0
    again = json.loads(cli("check", "syn_flood", "--db", str(db), "--param", "syn_flood.home_pps=1",
                                 "--json").stdout)["response"]["result"]["data"]["alerts"]
    listed = json.loads(cli("alerts", "--db", str(db), "--json").stdout)["response"]["result"]["data"]
    assert [a["id"] for a in listed["alerts"]] == [again[0]["id"]]  # re-running replaced, not added
    assert json.loads(cli("alerts", "--db", str(db), "--entity", "10.9.9.9", "--json").stdout)[
        "response"]["result"]["data"]["alerts"] == []
    page = folder / "alerts.html"
    assert cli("alerts", "--db", str(db), "-o", str(page)).returncode == 0
    html = page.read_text()
    assert f"forensics carve --alert {again[0]['id']}" in html and "tcp[tcpflags] &amp; (tcp-syn|tcp-ack)" in html
    assert "http://" not in html and "https://" not in html


def test_packets_and_carve_alert_match_tcpdump(flooded):
    folder, pcap, db = flooded
    # the alert of the check the test before runs (here too: under xdist that test may run on another worker)
    run = cli("check", "syn_flood", "--db", str(db), "--param", "syn_flood.home_pps=1", "--json")
    assert run.returncode == 0, run.stderr
    alert = json.loads(cli("alerts", "--db", str(db), "--json").stdout)["response"]["result"]["data"]["alerts"][0]
    lo, hi = epoch(T0), epoch(T0 + dt.timedelta(minutes=1))
    dump = subprocess.run(["tcpdump", "-nn", "-tt", "-r", str(pcap), alert["evidence"]], capture_output=True,
                          text=True, check=True).stdout.splitlines()
    expected = sum(1 for line in dump if lo <= float(line.split()[0]) < hi)
    assert expected == 135
    counted = cli("packets", "--db", str(db), "--alert", str(alert["id"]), "--count", "--json")
    assert json.loads(counted.stdout) == {"packets": expected}
    out = folder / "alert.pcap"
    carved = cli("carve", "--db", str(db), "--alert", str(alert["id"]), "-w", str(out))
    assert carved.returncode == 0, carved.stderr
    again = subprocess.run(["tcpdump", "-nn", "-r", str(out)], capture_output=True, text=True, check=True)
    assert len(again.stdout.splitlines()) == expected


def test_errors_are_one_line_with_exit_2(flooded):
    _, _, db = flooded
    for args in (["check", "--db", str(db), "--param", "syn_flood.nope=1"], ["check", "nope", "--db", str(db)],
                 ["carve", "--db", str(db), "--alert", "9999", "-w", "/tmp/never.pcap"]):
        run = forensics(*args)
        assert run.returncode == 2, args
        assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_check_list(flooded):
    run = cli("check", "--list", "--json")
    names = {c["name"] for c in json.loads(run.stdout)["checks"]}
    assert {"syn_flood", "host_sweep", "after_hours"} <= names
