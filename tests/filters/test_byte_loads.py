"""Byte offsets that no column holds are read back from the capture files (forensics_load): equal to tcpdump on
captures of several row groups (DuckDB calls the function from several threads at once), gzip and pcapng
sources; a missing capture file is a one-line error before the query runs."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys

import pytest

from forensics.carve import register_byte_loads
from forensics.filters import compile_filter
from forensics.ingest import import_paths
from forensics.store import Case
from tests import builders as b
from tests.inprocess import cli

pytestmark = pytest.mark.oracle


def _frames(n: int) -> list[tuple[float, bytes]]:
    """n frames: mostly ARP (which the SQL narrowing skips), every 40th an IPv4 UDP packet with a TOS of its own."""
    arp = b.pad60(b.eth(0x0806, bytes.fromhex("0001080006040001") + bytes(20)))
    out = []
    for i in range(n):
        if i % 40:
            out.append((1_700_000_000 + i / 1000, arp))
        else:
            ip = bytearray(b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1000 + i % 7, 53, b"x" * ((i // 40) % 5))))
            ip[1] = (i // 40) % 256
            out.append((1_700_000_000 + i / 1000, b.eth(0x0800, bytes(ip))))
    return out


def _tcpdump(path, expr: str) -> int:
    out = subprocess.run([shutil.which("tcpdump"), "-r", str(path), "--count", expr], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[0])


EXPRS = ["ip[1] & 0xfc == 0x10", "ip[1] > 200", "udp[4:2] == 10", "ip[(ip[0] & 0xf) * 4 + 3] == 53"]


def test_many_row_groups_read_in_parallel_equal_tcpdump(tmp_path):
    cap = tmp_path / "big.pcap"
    cap.write_bytes(b.pcap_file(_frames(130_000)))  # two DuckDB row groups, scanned by two threads
    with Case.open(tmp_path / "c.duckdb") as case:
        import_paths(case, [str(cap)])
        register_byte_loads(case.con)
        for expr in EXPRS:
            sql, params = compile_filter(expr)
            got = case.con.execute(f"SELECT count(*) FROM packets WHERE {sql}", params).fetchone()[0]
            assert got == _tcpdump(cap, expr) > 0, expr


def test_gzip_and_pcapng_sources(tmp_path):
    frames = _frames(2000)
    plain = tmp_path / "a.pcap"
    plain.write_bytes(b.pcap_file(frames))
    gz = tmp_path / "b.pcap.gz"
    gz.write_bytes(gzip.compress(b.pcap_file(frames[:1000])))
    ng = tmp_path / "c.pcapng"
    packets = [b.Packet(data, ts, kind="spb" if i % 10 == 0 else "epb") for i, (ts, data) in enumerate(frames[1000:])]
    ng.write_bytes(b.pcapng_file([b.Section(blocks=[b.Interface(linktype=1), *packets], big_endian=True)]))
    with Case.open(tmp_path / "c.duckdb") as case:
        import_paths(case, [str(gz), str(ng)])
        register_byte_loads(case.con)
        for expr in EXPRS:
            sql, params = compile_filter(expr)
            got = case.con.execute(f"SELECT count(*) FROM packets WHERE {sql}", params).fetchone()[0]
            assert got == _tcpdump(plain, expr), expr


def test_missing_capture_is_a_one_line_error(tmp_path):
    cap = tmp_path / "a.pcap"
    cap.write_bytes(b.pcap_file(_frames(100)))
    db = tmp_path / "c.duckdb"
    with Case.open(db) as case:
        import_paths(case, [str(cap)])
    cap.rename(tmp_path / "moved.pcap")
    run = subprocess.run([sys.executable, "-m", "forensics", "packets", "--count", "--db", str(db), "--filter",
                          "ip[1] > 3"], capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "--search" in run.stderr
    run = cli("packets", "--count", "--db", str(db), "--filter", "ip[1] > 3", "--search", str(tmp_path))  # answer
    assert run.returncode == 0 and run.stdout.split()[0] == str(_tcpdump(tmp_path / "moved.pcap", "ip[1] > 3"))
