"""`forensics import` and `forensics info`: exit codes, JSON, messages."""

from __future__ import annotations

import json
import subprocess
import sys

from tests import builders as b
from tests.inprocess import cli


def forensics(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, cwd=cwd)


def write_capture(path, n=10):
    path.write_bytes(b.pcap_file([
        (1700000000.0 + i, b.eth(0x0800, b.ipv4("192.168.1.5", "8.8.8.8", 17, b.udp(5000 + i % 2, 53, b"q" * 30))))
        for i in range(n)]))


def test_import_json_and_info_json(tmp_path):
    cap = tmp_path / "caps" / "a.pcap"
    cap.parent.mkdir()
    write_capture(cap)
    (tmp_path / "caps" / "junk.pcap").write_text("not a capture\n")
    db = tmp_path / "case.duckdb"
    run = forensics("import", "--json", "--db", str(db), str(tmp_path / "caps"))
    assert run.returncode == 1  # one input rejected, the rest kept
    summary = json.loads(run.stdout)
    assert summary["totals"]["packets"] == 10 and summary["totals"]["rejected"] == 1
    assert summary["exit_code"] == 1
    info = cli("info", "--json", "--db", str(db))  # in-process: what it answers (exit codes: the process above)
    assert info.returncode == 0
    data = json.loads(info.stdout)
    assert data["totals"]["packets"] == 10
    assert data["totals"]["flows"] == 2  # two source ports -> two unidirectional flows
    assert data["captures"][0]["first_ts"] == "2023-11-14T22:13:20.000000Z"
    assert {p["protocol"] for p in data["protocols"]} == {"UDP"}
    assert any("not a capture" in r["reason"] for r in data["rejects"])


def test_messages_are_one_line_on_stderr(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_text("hello\n")
    run = forensics("import", "--db", str(tmp_path / "c.duckdb"), str(bad))
    assert run.returncode == 1
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(bad) in lines[0] and "byte offset 0" in lines[0]
    assert "Traceback" not in run.stderr


def test_info_without_a_case_is_a_usage_error(tmp_path):
    run = forensics("info", "--db", str(tmp_path / "missing.duckdb"))
    assert run.returncode == 2
    assert "no case database" in run.stderr and "Traceback" not in run.stderr


def test_default_db_from_environment(tmp_path):
    cap = tmp_path / "a.pcap"
    write_capture(cap)
    env_db = tmp_path / "env.duckdb"
    run = subprocess.run([sys.executable, "-m", "forensics", "import", "--quiet", str(cap)], capture_output=True,
                         text=True, cwd=tmp_path, env={**__import__("os").environ, "FORENSICS_DB": str(env_db)})
    assert run.returncode == 0, run.stderr
    assert env_db.exists()


def test_info_filter_counts_matching_packets_and_flows(tmp_path):
    cap = tmp_path / "a.pcap"
    write_capture(cap)  # 10 packets, source ports 5000 and 5001 alternating
    db = tmp_path / "c.duckdb"
    assert cli("import", "--quiet", "--db", str(db), str(cap)).returncode == 0  # in-process; the error: a process
    run = cli("info", "--json", "--db", str(db), "--filter", "udp src port 5000")
    data = json.loads(run.stdout)
    assert data["totals"]["packets"] == 5 and data["totals"]["flows"] == 1
    bad = forensics("info", "--db", str(db), "--filter", "udp src port")
    assert bad.returncode == 2 and "column" in bad.stderr
