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


SPECIAL = [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3",
                                             "::/127", "fe80::/10", "ff00::/8")]


def special(text: str) -> bool:
    """Multicast, broadcast, link-local, loopback, unspecified (and 240/4), or a home block's last IPv4 address."""
    addr = ipaddress.ip_address(text)
    if any(addr.version == n.version and addr in n for n in SPECIAL):
        return True
    return any(addr.version == 4 == n.version and addr == n.broadcast_address for n in HOME)


def internet(text: str) -> bool:
    return not home(text) and not special(text)


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
    section = result.sections[0]
    got = {it.names[0]: it.values[0] * secs / 8 for it in section.items}
    got_bytes = {it.names[0]: it.values[section.measures.index("bytes")] for it in section.items}
    got_packets = {it.names[0]: it.values[section.measures.index("packets")] for it in section.items}
    cats = {
        "Into Home": lambda s, d: home(d),
        "Out of Home": lambda s, d: home(s),
        "Internet to Home": lambda s, d: internet(s) and home(d),
        "Home to Internet": lambda s, d: home(s) and internet(d),
        "Internet to Internet": lambda s, d: internet(s) and internet(d),
        "Home to Home": lambda s, d: home(s) and home(d),
        "Local (multicast, broadcast, link-local)": lambda s, d: special(s) or special(d),
    }
    want = {c: sum(n for s, d, n in packets if pred(s, d)) for c, pred in cats.items()}
    want_packets = {c: sum(1 for s, d, _ in packets if pred(s, d)) for c, pred in cats.items()}
    assert got == pytest.approx(want, rel=1e-9)  # every category has a row, 0 when it saw nothing
    assert got_bytes == pytest.approx(want, rel=1e-12)
    assert got_packets == want_packets
    assert result.binning == "packet-time" and result.measure_units["bytes"] == "bytes (IP layer)"
    # every byte is sent once and received once: the talkers' totals (top 3 + Others) add up to twice the traffic
    assert sum(it.values[2] for it in talkers.sections[0].items) * secs / 8 == pytest.approx(
        2 * sum(n for _, _, n in packets), rel=1e-9)
