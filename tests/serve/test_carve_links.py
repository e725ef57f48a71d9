"""A report row's carve link downloads the same pcap as `forensics carve --report NAME --item N`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from forensics.config import load_config
from forensics.serve import CaseSource, create_app
from tests import builders as b
from tests.inprocess import cli

ROOT = Path(__file__).resolve().parents[2]


def forensics(*args):
    """In-process (tests.inprocess.cli): the import and the carve compared with the link both succeed."""
    return cli(*args)


@pytest.fixture(scope="module")
def pcap_case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("carve")
    frames, t = [], 1700000000.0
    for i in range(5):  # the biggest WannaCry row: 10.0.0.5 -> 8.8.8.8 tcp/445
        frames.append((t + i, b.eth(0x0800, b.ipv4("10.0.0.5", "8.8.8.8", 6, b.tcp(40000 + i, 445, b.SYN, b"x" * 99)))))
    for i in range(2):  # a smaller row
        frames.append((t + 10 + i, b.eth(0x0800, b.ipv4("10.0.0.5", "1.1.1.1", 6, b.tcp(41000, 445, b.SYN)))))
    for i in range(4):  # not WannaCry
        frames.append((t + 20 + i, b.eth(0x0800, b.ipv4("10.0.0.5", "8.8.8.8", 6, b.tcp(42000, 443, b.ACK)))))
    cap = folder / "c.pcap"
    cap.write_bytes(b.pcap_file(frames))
    db = folder / "c.duckdb"
    run = forensics("import", "--quiet", "--db", str(db), str(cap))
    assert run.returncode == 0, run.stderr
    return db


def test_carve_link_equals_forensics_carve(pcap_case, tmp_path):
    source = CaseSource(str(pcap_case), load_config(None, str(pcap_case)))
    with TestClient(create_app(source), raise_server_exceptions=False) as client:
        page = client.get("/report/wannacry.html")
        assert page.status_code == 200, page.text
        links = re.findall(r'class="carve-download" href="([^"]+)"', page.text)
        assert links and links[0].startswith("/carve/wannacry/1.pcap")
        got = client.get(links[0].replace("&amp;", "&"))
        assert got.status_code == 200, got.text
        assert got.headers["content-type"] == "application/vnd.tcpdump.pcap"
        assert 'filename="wannacry-item-1.pcap"' in got.headers["content-disposition"]
        missing = client.get("/carve/wannacry/99.pcap")
        assert missing.status_code == 400 and "no row 99" in missing.text
    out = tmp_path / "row1.pcap"
    run = forensics("carve", "--db", str(pcap_case), "--report", "wannacry", "--item", "1", "-w", str(out))
    assert run.returncode == 0, run.stderr
    assert got.content == out.read_bytes()
    lines = subprocess.run(["tcpdump", "-nn", "-r", "-"], input=got.content, capture_output=True).stdout.splitlines()
    assert len(lines) == 5 and all(b"8.8.8.8.445" in ln for ln in lines)
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("forensics-serve-*"))  # the temp folder is gone
