"""The packet view: dumps equal tcpdump's -xx/-XX, lines carry the decoded fields, the CLI counts like tcpdump."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from carve_helpers import capture_id, source, tcpdump

from forensics.carve import read_records, select_packets
from forensics.packetview import dump_lines, summary_line, tcp_flags_text

pytestmark = pytest.mark.oracle


@pytest.mark.parametrize(("mode", "flag"), [("x", "-xx"), ("X", "-XX")])
def test_dumps_equal_tcpdump(case, mode, flag):
    src = source("pcap")
    refs = select_packets(case.con, "capture_id = $c", {"c": capture_id(case, "pcap")})[:40]
    ours = []
    for rec in read_records(case.con, refs):
        ours += dump_lines(rec.data, mode)
    out = tcpdump("-r", str(src), "-n", flag, "-c", str(len(refs)))
    theirs = [line for line in out.stdout.decode().splitlines() if line.startswith("\t0x")]
    assert ours == theirs


def test_summary_line_fields():
    import datetime as dt

    from forensics.netaddr import ip_to_int

    row = {"ts": dt.datetime(2024, 3, 1, 12, 0, 0, 123456), "ip_version": 4, "src_ip": ip_to_int("10.0.0.1"),
           "dst_ip": ip_to_int("10.0.0.2"), "ip_proto": 6, "src_port": 49152, "dst_port": 445, "tcp_flags": 0x12,
           "wirelen": 74, "vlan": 100}
    assert summary_line(row) == ("2024-03-01 12:00:00.123456 vlan 100, IP 10.0.0.1.49152 > 10.0.0.2.445: "
                                 "Flags [S.], length 74")
    assert tcp_flags_text(0) == "none" and tcp_flags_text(0x18) == "P." and tcp_flags_text(0x11) == "F."


def _cli(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; sys.argv[0] = 'forensics'; from forensics.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_cli_count_and_lines(tmp_path):
    from forensics.ingest import import_paths
    from forensics.store import Case

    src = source("pcap")
    db = str(tmp_path / "cli.duckdb")
    with Case.open(db) as c:
        import_paths(c, [str(src)])
    for expr in ("tcp dst port 445", "arp or udp"):
        out = _cli("packets", "--db", db, "--capture", str(src), "--filter", expr, "--count")
        assert out.returncode == 0, out.stderr
        want = tcpdump("-r", str(src), "--count", expr).stdout.decode().split()[0]
        assert out.stdout.strip() == f"{want} packets"
    out = _cli("packets", "--db", db, "--capture", "1", "-c", "5", "--filter", "tcp")
    lines = out.stdout.splitlines()
    assert len(lines) == 5 and all(" IP 192.168.10." in line and "Flags [" in line for line in lines)
    out = _cli("packets", "--db", db, "--capture", str(src), "-c", "2", "--json", "-x")
    rows = json.loads(out.stdout)
    assert len(rows) == 2 and all(len(r["data_hex"]) == 2 * r["caplen"] for r in rows)
    out = _cli("packets", "--db", db, "--filter", "host and")
    assert out.returncode == 2 and "filter column 6" in out.stderr and "Traceback" not in out.stderr
