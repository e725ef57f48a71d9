"""The case's link-layer columns (MAC addresses, ARP) equal tshark's on real corpus captures.

tshark is the oracle: eth.src/eth.dst (sll.src.eth for Linux cooked captures), arp.opcode and the ARP sender and
target addresses, frame by frame, for the small Ethernet/SLL captures of the corpus (corpus_sample of them) that
hold ARP and a handful of others. Fields are compared for the outermost header only (tshark also shows Ethernet
and ARP inside tunnels, which the decoder does not open).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from forensics.ingest import import_paths
from forensics.store import Case
from tests.conftest import corpus_path, corpus_rows, corpus_sample

pytestmark = pytest.mark.oracle

FIELDS = ["frame.number", "frame.protocols", "eth.src", "eth.dst", "sll.src.eth", "arp.opcode", "arp.src.hw_mac",
          "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4"]
_LINK = {"eth", "ethertype", "vlan", "ieee8021ad", "sll", "llc", "snap"}


def _small_link_captures() -> list[str]:
    """Ethernet/SLL captures up to 3000 packets, one per content: corpus_sample of them (every one under
    FORENSICS_FULL_CORPUS=1)."""
    rows, seen = [], set()
    for row in corpus_rows():
        lt = row["link_types"].split(" [")[0]
        if (row["format"].startswith(("pcap", "pcapng")) and lt in ("ether(1)", "linux-sll(113)", "linux-sll2(276)")
                and row["packets_capinfos"].isdigit() and 0 < int(row["packets_capinfos"]) <= 3000
                and row["sha256"] not in seen):
            seen.add(row["sha256"])
            rows.append(row)
    return [str(corpus_path(row).resolve()) for row in corpus_sample(rows)]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    paths = _small_link_captures()
    case = Case.open(tmp_path_factory.mktemp("link") / "c.duckdb")
    import_paths(case, paths)
    arp = {p for (p,) in case.con.execute("SELECT DISTINCT c.path FROM packets p JOIN captures c USING (capture_id) "
                                          "WHERE p.arp_op IS NOT NULL").fetchall()}
    rest = sorted(set(paths) - arp)
    others = rest[::max(1, len(rest) // 8)][:8]
    yield case, sorted(arp), others
    case.close()


def _tshark(path: str) -> dict[int, dict]:
    exe = shutil.which("tshark")
    assert exe, "tshark is required for the oracle tests (Debian package tshark)"
    cmd = [exe, "-n", "-r", path, "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        values = dict(zip(FIELDS, line.split("\t"), strict=False))
        rows[int(values["frame.number"])] = values
    return rows


def _first_network(protocols: str) -> str:
    for p in protocols.split(":"):
        if p not in _LINK:
            return p
    return ""


def test_enough_captures(imported):
    _case, arp, others = imported
    assert len(arp) >= 5 and len(others) >= 5


@pytest.mark.parametrize("which", ["arp", "others"])
def test_mac_and_arp_columns_equal_tshark(imported, which):
    case, arp, others = imported
    checked = arps = 0
    for path in arp if which == "arp" else others:
        want = _tshark(path)
        rows = case.con.execute(
            "SELECT frame, linktype, mac_text(src_mac), mac_text(dst_mac), arp_op, mac_text(arp_sha), "
            "ip_text(arp_spa), mac_text(arp_tha), ip_text(arp_tpa) FROM packets p JOIN captures c USING (capture_id) "
            "WHERE c.path = $p ORDER BY frame", {"p": path}).fetchall()
        assert len(rows) == len(want), path
        for frame, lt, smac, dmac, op, sha, spa, tha, tpa in rows:
            t = want[frame]
            if lt == 1:
                assert (smac or "", dmac or "") == (t["eth.src"], t["eth.dst"]), (path, frame)
            else:
                assert (smac or "", dmac) == (t["sll.src.eth"], None), (path, frame)
            if _first_network(t["frame.protocols"]) == "arp":
                got = (str(op), sha or "", spa or "", tha or "", tpa or "")
                assert got == (t["arp.opcode"], t["arp.src.hw_mac"], t["arp.src.proto_ipv4"], t["arp.dst.hw_mac"],
                               t["arp.dst.proto_ipv4"]), (path, frame)
                arps += 1
            else:
                assert op is None, (path, frame, t["frame.protocols"])
            checked += 1
    assert checked > 100
    assert which != "arp" or arps > 50
