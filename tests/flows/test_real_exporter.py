"""A pcap turned into NetFlow by real exporters (softflowd, nfpcapd) and the same pcap imported directly give
the same per-5-tuple packet and byte totals. Runs the whole importer (forensics.ingest.import_paths)."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections import Counter

import pytest
from flowcase import CORPUS

from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case

pytestmark = pytest.mark.oracle

PCAP = CORPUS / "files/ipfixprobe/mixed.pcap"
TUPLE = "src_ip, dst_ip, ip_proto, src_port, dst_port"


def per_tuple(case: Case, source: str) -> Counter:
    rows = case.con.execute(
        f"SELECT {TUPLE}, sum(packets), sum(bytes) FROM flows WHERE source = $s AND ip_proto IN (6, 17) "
        f"GROUP BY ALL", {"s": source}).fetchall()
    return Counter({tuple(r[:5]): (int(r[5]), int(r[6])) for r in rows})


@pytest.fixture(scope="module")
def direct(tmp_path_factory):
    db = tmp_path_factory.mktemp("direct") / "case.duckdb"
    with Case.open(db) as case:
        summary = import_paths(case, [str(PCAP)], ImportOptions())
        assert [f.status for f in summary.files] == ["imported"]
        totals = per_tuple(case, "pcap")
    assert len(totals) > 20
    return totals


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_softflowd_capture_matches_direct_import(tmp_path, direct):
    for tool in ("softflowd", "tcpdump"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (apt-get install {tool})")
    port = _free_udp_port()
    cap = tmp_path / "exports.pcap"
    # -Z: keep the current user, so tcpdump can write into the test's private folder
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-Z", getpass.getuser(), "-w", str(cap),
                             "udp", "port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        listening = dump.stderr.readline().decode()  # "tcpdump: listening on lo, ..." once it captures
        assert "listening" in listening, listening
        subprocess.run(["softflowd", "-r", str(PCAP), "-n", f"127.0.0.1:{port}", "-v", "9"], check=True,
                       capture_output=True, timeout=60)
        time.sleep(0.5)
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
    with Case.open(tmp_path / "case.duckdb") as case:
        summary = import_paths(case, [str(cap)], ImportOptions())
        assert [f.status for f in summary.files] == ["imported"], summary.files
        assert summary.files[0].packets >= 1, dump.stderr.read().decode()
        exported = per_tuple(case, "netflow_v9")
        # the export packets themselves are pcap flows of this capture, too
        assert case.con.execute("SELECT count(*) FROM flows WHERE source = 'pcap'").fetchone()[0] >= 1
    assert exported == direct


def test_nfpcapd_files_match_direct_import(tmp_path, direct):
    out = tmp_path / "nfcapd"
    out.mkdir()
    subprocess.run(["nfpcapd", "-r", str(PCAP), "-w", str(out)], check=True, capture_output=True,
                   env=dict(os.environ, TZ="UTC"))
    with Case.open(tmp_path / "case.duckdb") as case:
        summary = import_paths(case, [str(out)], ImportOptions())
        assert {f.status for f in summary.files} == {"imported"}
        assert {f.format for f in summary.files} == {"nfcapd"}
        exported = per_tuple(case, "nfcapd")
    assert exported == direct
