"""The benchmark harness runs end to end on a tiny generated capture (no timing assertions)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKETS = 5_000  # what the harness does, not how fast: the size proves nothing (bench/README.md runs 20,000 and up)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cache = tmp_path_factory.mktemp("bench")
    cmd = [sys.executable, "-m", "bench.ingest", "--packets", str(PACKETS), "--runs", "1", "--reports",
           "--no-install", "--json", "--cache-dir", str(cache)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), cache


def test_measures_forensics_and_present_peers(run):
    doc, cache = run
    assert doc["capture"]["packets"] == PACKETS  # the generator writes exactly --packets
    assert doc["db"]["packets_rows"] == PACKETS and doc["db"]["flows_rows"] > 0
    tools = [r["tool"] for r in doc["results"]]
    assert tools[0] == "forensics import --quiet"
    expected = ["dpkt loop"] + [name for name, binary in (("tshark -q -z conv,ip", "tshark"),
                                                          ("nfpcapd -r F -w DIR", "nfpcapd")) if shutil.which(binary)]
    assert sorted(tools[1:]) == sorted(expected)
    ours = doc["results"][0]
    for r in doc["results"]:
        assert r["pps"] == round(PACKETS / r["wall_s"])
        assert r["peak_rss_mb"] > 0
    for r in doc["results"][1:]:
        assert r["ratio"] == pytest.approx(ours["pps"] / r["pps"], abs=0.001)
        assert doc["ratios"][r["tool"]] == r["ratio"]
    assert doc["db"]["bytes_per_packet"] == round(doc["db"]["size_bytes"] / PACKETS, 1)
    assert doc["reports"]["packets_rows"] == PACKETS
    assert not (cache / "bench.duckdb").exists()  # fresh case per run, removed afterwards


def test_table_shows_ratios(run):
    from bench.ingest import render_table

    doc, _ = run
    table = render_table(doc)
    assert "forensics/peer" in table
    for r in doc["results"][1:]:
        assert f"{r['ratio']:.2f}x" in table
    assert "bytes/packet" in table


def test_dpkt_peer_counts_every_packet(run):
    from bench.dpkt_loop import run as dpkt_run

    doc, _ = run
    assert dpkt_run(doc["capture"]["path"])["packets"] == PACKETS


def test_missing_pcap_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench.ingest", "--pcap", str(tmp_path / "nope.pcap")], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "no such file" in out.stderr
