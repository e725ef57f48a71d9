"""The packet view through the CLI: dumps equal tcpdump's, -r FILE equals --db CASE, counts equal tcpdump's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from carve_helpers import capture_id, source, tcpdump

from forensics.carve import read_records, select_packets
from forensics.packetview import dump_lines, tcp_flags_text
from tests.inprocess import cli

pytestmark = pytest.mark.oracle


@pytest.mark.parametrize(("mode", "flag"), [("x", "-xx"), ("X", "-XX")])
def test_link_layer_dumps_equal_tcpdump(case, mode, flag):
    src = source("pcap")
    refs = select_packets(case.con, "capture_id = $c", {"c": capture_id(case, "pcap")})[:40]
    ours = []
    for rec in read_records(case.con, refs):
        ours += dump_lines(rec.data, mode)
    out = tcpdump("-r", str(src), "-n", flag, "-c", str(len(refs)))
    theirs = [line for line in out.stdout.decode().splitlines() if line.startswith("\t0x")]
    assert ours == theirs


def test_tcp_flag_letters():
    assert tcp_flags_text(0) == "none" and tcp_flags_text(0x18) == "P." and tcp_flags_text(0x11) == "F."
    assert tcp_flags_text(0x12) == "S." and tcp_flags_text(0xC2) == "SEW"


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The real process, for exit codes and one-line errors (answers are checked in-process: cli)."""
    code = "import sys; sys.argv[0] = 'forensics'; from forensics.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def _tcpdump_text(*args: str) -> str:
    return subprocess.run(["tcpdump", "-nn", *args], capture_output=True, text=True,
                          env={**os.environ, "TZ": "UTC"}).stdout


def test_cli_read_file_equals_case_and_tcpdump(tmp_path):
    from forensics.ingest import import_paths
    from forensics.store import Case

    src = source("pcap")
    db = str(tmp_path / "cli.duckdb")
    with Case.open(db) as c:
        import_paths(c, [str(src)])
    for extra in ([], ["--filter", "tcp dst port 445", "-X"], ["-e", "-v", "-c", "30", "-tttt"]):
        from_file = cli("packets", "-r", str(src), *extra)
        from_case = cli("packets", "--db", db, *extra)
        assert from_file.returncode == 0 and from_case.returncode == 0, from_file.stderr + from_case.stderr
        assert from_file.stdout == from_case.stdout and from_file.stdout
        assert from_file.stderr == ""  # no progress when not on a terminal
    # the whole file's -X output is tcpdump's, byte for byte (SMB over 445 is named by tcpdump after the length)
    ours = cli("packets", "-r", str(src), "-X", "--filter", "tcp dst port 445", "-c", "25").stdout.splitlines()
    theirs = _tcpdump_text("-X", "-r", str(src), "-c", "25", "tcp dst port 445").splitlines()
    assert [x for x in ours if x.startswith("\t")] == [x for x in theirs if x.startswith("\t")]
    assert len(ours) == len(theirs)


def test_cli_read_file_shows_every_packet_of_a_long_capture(tmp_path):
    """More packets than one fetch of rows (2048): every one printed, each line tcpdump's."""
    from builders import ETH_IPV4, eth, ipv4, pad60, pcap_file, udp

    datagrams = [udp(50000 + i % 1000, (53, 7777)[i % 2], b"x" * (i % 40)) for i in range(2500)]
    frames = [pad60(eth(ETH_IPV4, ipv4("10.0.0.1", "10.0.0.2", 17, d))) for d in datagrams]
    path = tmp_path / "long.pcap"
    path.write_bytes(pcap_file([(1700000000 + i / 1000, f) for i, f in enumerate(frames)]))
    ours = cli("packets", "-r", str(path))
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == _tcpdump_text("-r", str(path))
    assert len(ours.stdout.splitlines()) == 2500


def test_cli_count_json_and_errors(tmp_path):
    src = source("pcap")
    for expr in ("tcp dst port 445", "arp or udp"):
        out = cli("packets", "-r", str(src), "--filter", expr, "--count")
        assert out.returncode == 0, out.stderr
        want = tcpdump("-r", str(src), "--count", expr).stdout.decode().split()[0]
        assert out.stdout.strip() == f"{want} packets"
    out = cli("packets", "-r", str(src), "-c", "2", "--json", "-xx")
    rows = json.loads(out.stdout)
    assert len(rows) == 2 and all(len(r["data_hex"]) == 2 * r["caplen"] for r in rows)
    assert rows[0]["summary"] == _tcpdump_text("-r", str(src), "-c", "1").splitlines()[0]
    out = _cli("packets", "-r", str(src), "--filter", "host and")
    assert out.returncode == 2 and "filter column 6" in out.stderr and "Traceback" not in out.stderr
    out = _cli("packets", "-r", str(tmp_path / "none.pcap"))
    assert out.returncode == 2 and "no such file" in out.stderr and "Traceback" not in out.stderr
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all" * 10)
    out = _cli("packets", "-r", str(junk))
    assert out.returncode == 2 and str(junk) in out.stderr and "Traceback" not in out.stderr
