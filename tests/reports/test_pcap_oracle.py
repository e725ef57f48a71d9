"""Reports on pcap-derived flows of a corpus capture agree with tshark's view of the same packets."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest

from forensics.ingest import ImportOptions, import_paths
from forensics.reports import run_report
from forensics.store import Case

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "files"
CAPTURE = CORPUS / "tcpreplay" / "test.pcap"
HOME = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                          "fc00::/7")]


def home(text: str) -> bool:
    addr = ipaddress.ip_address(text)
    return any(addr.version == n.version and addr in n for n in HOME)


def tshark_packets() -> list[tuple[str, str, int]]:
    """(src, dst, IP-layer length) of every IP packet, outer header, as tshark decodes them.

    Ethernet pseudowires inside MPLS (tshark: pwethcw) are left out: forensics does not decode pseudowire
    control words (see forensics/records.py), so those packets carry no IP fields and form no flow.
    """
    assert shutil.which("tshark"), "tshark is not installed: apt-get install -y tshark"
    out = subprocess.run(["tshark", "-r", str(CAPTURE), "-T", "fields", "-e", "ip.src", "-e", "ip.dst", "-e",
                          "ip.len", "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "ipv6.plen", "-e", "frame.protocols"],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    rows = []
    for line in out.splitlines():
        f = [c.split(",")[0] for c in line.split("\t")]
        if "pweth" in f[6]:
            continue
        if f[0]:
            rows.append((f[0], f[1], int(f[2])))
        elif f[3]:
            rows.append((f[3], f[4], int(f[5]) + 40))
    return rows


@pytest.mark.oracle
def test_internet_summary_matches_tshark(tmp_path):
    assert CAPTURE.is_file(), f"corpus capture missing: {CAPTURE} (the tests need ../shared/corpus)"
    packets = tshark_packets()
    with Case.open(tmp_path / "pcap.duckdb") as case:
        summary = import_paths(case, [str(CAPTURE)], ImportOptions())
        assert summary.exit_code == 0
        assert case.con.execute("SELECT count(*) FROM flows WHERE source <> 'pcap'").fetchone()[0] == 0
        result = run_report(case, "internet_summary", {})
        talkers = run_report(case, "top_talkers", {"top": 3})
    secs = (result.end - result.start).total_seconds()
    got = {it.names[0]: it.values[0] * secs / 8 for it in result.sections[0].items}
    want = {
        "Into Home": sum(n for s, d, n in packets if home(d)),
        "Out of Home": sum(n for s, d, n in packets if home(s)),
        "Internet to Home": sum(n for s, d, n in packets if not home(s) and home(d)),
        "Home to Internet": sum(n for s, d, n in packets if home(s) and not home(d)),
        "Internet to Internet": sum(n for s, d, n in packets if not home(s) and not home(d)),
        "Home to Home": sum(n for s, d, n in packets if home(s) and home(d)),
    }
    assert got == pytest.approx(want, rel=1e-9)
    # every byte is sent once and received once: the talkers' totals (top 3 + Others) add up to twice the traffic
    assert sum(it.values[2] for it in talkers.sections[0].items) * secs / 8 == pytest.approx(
        2 * sum(n for _, _, n in packets), rel=1e-9)
