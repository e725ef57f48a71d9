"""Captures with their coverage on / and /api/captures: per capture interface the time range, packets, bytes and
flows (tshark as the oracle, corpus files by path), a file's exported flow records (the corpus MANIFEST's count),
a file whose reading stopped early, and a file refused whole."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from forensics.config import load_config
from forensics.serve import CaseSource, create_app
from tests import builders as b

ROOT = Path(__file__).resolve().parents[2]
CORPUS = (ROOT.parent / "shared" / "corpus").resolve()  # paths are stored resolved
MULTI = CORPUS / "files/zeek/pcapng-multi-interface.pcapng"
NETFLOW = CORPUS / "files/graylog-netflow/netflow5.pcap"


def forensics(*args):
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def manifest(path: Path) -> dict:
    with (CORPUS / "MANIFEST.tsv").open(newline="") as handle:
        return next(r for r in csv.DictReader(handle, delimiter="\t") if CORPUS / r["path"] == path)


@pytest.fixture(scope="module")
def covered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coverage")
    whole = b.pcap_file([(1700000000.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1, 2, b"x"))))
                         for i in range(4)])
    cut = folder / "cut.pcap"
    cut.write_bytes(whole[:-10])  # the last record ends short: three kept, reading stops with a reason
    junk = folder / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all\n" * 4)
    db = folder / "case.duckdb"
    run = forensics("import", "--quiet", "--db", str(db), str(MULTI), str(NETFLOW), str(cut), str(junk))
    assert run.returncode == 1, run.stderr  # partial: junk.pcap refused, the rest kept
    source = CaseSource(str(db), load_config(None, str(db)))
    with TestClient(create_app(source), raise_server_exceptions=False) as client:
        yield client, cut, junk


def _tshark(path: Path) -> dict:
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.interface_id",
                          "-e", "frame.time_epoch", "-e", "frame.len"], capture_output=True, text=True, check=True)
    per: dict = {}
    for line in out.stdout.splitlines():
        iface, epoch, length = line.split("\t")
        us = int(Decimal(epoch) * 1_000_000)
        got = per.setdefault(int(iface or 0), {"packets": 0, "bytes": 0, "first": us, "last": us})
        got["packets"] += 1
        got["bytes"] += int(length)
        got["first"], got["last"] = min(got["first"], us), max(got["last"], us)
    return per


def test_api_coverage_per_interface_matches_tshark(covered):
    client, cut, junk = covered
    data = client.get("/api/captures").json()["response"]["result"]["data"]
    spans = data["coverage"]
    for path in (MULTI, NETFLOW):
        oracle = _tshark(path)
        rows = {s["iface"]: s for s in spans if s["path"] == str(path) and s["iface"] is not None}
        assert set(rows) == set(oracle), path
        for iface, want in oracle.items():
            row = rows[iface]
            assert (row["packets"], row["bytes"]) == (want["packets"], want["bytes"]), (path, iface)
            assert abs(row["first_us"] - want["first"]) <= 1 and abs(row["last_us"] - want["last"]) <= 1
            assert row["first_ts"].endswith("Z")
    assert len({s["iface"] for s in spans if s["path"] == str(MULTI)}) == 2  # two interfaces, two rows
    [exported] = [s for s in spans if s["path"] == str(NETFLOW) and s["iface"] is None]
    assert exported["flows"] == int(manifest(NETFLOW)["flow_records"]) and exported["packets"] == 0
    [stopped] = [s for s in spans if s["path"] == str(cut)]
    assert stopped["packets"] == 3 and stopped["rejected"] and stopped["rejects"] >= 1
    assert [r["path"] for r in data["rejected_files"]] == [str(junk)]
    assert data["rejected_files"][0]["reason"]


def test_index_shows_the_coverage(covered):
    client, cut, junk = covered
    page = client.get("/").text
    assert 'id="coverage"' in page and "exported flows" in page and "stopped:" in page
    assert page.count('<svg class="span"') == 5  # two interfaces, netflow5's packets and its flows, cut.pcap
    assert "Files refused at import (1)" in page and str(junk) in page
