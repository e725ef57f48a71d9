"""Per-5-tuple packet and byte totals of the derived flows equal tshark's `-z conv,tcp` / `conv,udp`.

tshark runs in the test, with IP reassembly off (a reassembled datagram is counted once there, each
fragment is a packet here). Captures whose frames tshark attributes to a tunnelled inner conversation
as well (GRE, VXLAN, Geneve, Teredo, IP-in-IP, ERSPAN, MPLS over UDP), or whose link type is not decoded,
are left out with that reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from forensics.ingest import import_paths
from tests.conftest import corpus_path, corpus_rows, corpus_sample

TUNNEL_CATEGORIES = {"gre", "vxlan", "geneve", "teredo", "ip-in-ip", "erspan"}
# Left out, each for a stated reason:
OTHER_SEMANTICS = {
    # tshark takes the last routing-header address as the destination; we keep the IPv6 header's.
    "files/tcpdump/ipv6-routing-header.pcap", "files/zeek/ipv6-hbh-routing0.pcap",
    # AH tunnel mode carries a second IPv6 header: tshark counts the inner conversation too.
    "files/libpcap/ipv6_ah_modes.pcap",
    # tshark leaves a frame whose TCP header is cut out of the conversation; we keep its ports.
    "files/zeek/tcp__truncated-header.pcap",
}
TUNNEL_WORDS = ("tunnels__", "mpls-over-udp", "erspan", "gre", "geneve", "vxlan", "teredo")
DECODED = {"ether(1)", "linux-sll(113)", "linux-sll2(276)", "raw(101)", "ipv4(228)", "null(0)", "ppp(9)"}

LINE = re.compile(
    r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+(\d+) (bytes|kB|MB|GB)\s+(\d+)\s+(\d+) (bytes|kB|MB|GB)\s+"
    r"(\d+)\s+(\d+) (bytes|kB|MB|GB)"
)
SCALE = {"bytes": 1, "kB": 1000, "MB": 1000**2, "GB": 1000**3}


def eligible() -> list[dict]:
    """One capture per category set (tshark costs over a second a run; the suite must stay short). The test
    runs on corpus_sample() of these: every format, link type and category among them, smallest file first
    (FORENSICS_FULL_CORPUS=1: all, bench/README.md)."""
    rows = []
    seen: set[str] = set()
    for r in corpus_rows():
        if not r["format"].startswith(("pcap", "pcapng")) or r["packets_capinfos"] in ("", "ERR", "0"):
            continue
        cats = set(r["categories"].split(";"))
        lts = {p.split(" [")[0] for p in r["link_types"].split(",")}
        if cats & TUNNEL_CATEGORIES or any(w in r["path"] for w in TUNNEL_WORDS) or not lts <= DECODED \
                or r["path"] in OTHER_SEMANTICS:
            continue
        key = r["categories"] + r["link_types"]
        if key in seen:
            continue
        seen.add(key)
        rows.append(r)
    return rows


def tshark_convs(path: str) -> dict[tuple, tuple[int, int, str]]:
    out = subprocess.run(
        ["tshark", "-r", path, "-q", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
         "-z", "conv,tcp", "-z", "conv,udp"],
        capture_output=True, text=True, check=True,
    ).stdout
    convs: dict[tuple, tuple[int, int, str]] = {}
    proto = None
    for line in out.splitlines():
        if line.startswith("TCP Conversations"):
            proto = 6
        elif line.startswith("UDP Conversations"):
            proto = 17
        m = LINE.match(line)
        if m and proto:
            a, ap, b, bp = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
            key = (proto,) + tuple(sorted([(a, ap), (b, bp)]))
            frames, size, unit = int(m.group(11)), int(m.group(12)), m.group(13)
            old = convs.get(key)
            if old:  # tshark splits a 5-tuple into several conversations (port reuse): add them up
                assert unit == "bytes" and old[2] == "bytes", "cannot add rounded sizes"
                frames, size = frames + old[0], size + old[1]
            convs[key] = (frames, size, unit)
    return convs


@pytest.mark.oracle
@pytest.mark.parametrize("row", corpus_sample(eligible()), ids=lambda r: r["path"])
def test_conversation_totals_equal_tshark(case, row):
    assert shutil.which("tshark"), "tshark is needed (apt-get install tshark)"
    path = str(corpus_path(row))
    summary = import_paths(case, [path])
    cid = summary.files[0].capture_id
    ours: dict[tuple, tuple[int, int]] = {}
    for proto, a, ap, b, bp, pk, fb in case.con.execute(
        """SELECT ip_proto, ip_text(a_ip), a_port, ip_text(b_ip), b_port, packets_a2b + packets_b2a,
                  frame_bytes_a2b + frame_bytes_b2a
           FROM conversations
           WHERE capture_id = $c AND source = 'pcap' AND ip_proto IN (6, 17)""", {"c": cid}).fetchall():
        if ap == 0 and bp == 0:
            continue  # non-first fragments (no ports): a flow here, no conversation for tshark
        key = (proto,) + tuple(sorted([(a, ap), (b, bp)]))
        pk0, fb0 = ours.get(key, (0, 0))
        ours[key] = (pk0 + int(pk), fb0 + int(fb))
    theirs = tshark_convs(path)
    assert set(theirs) == set(ours), (set(theirs) ^ set(ours))
    for key, (frames, size, unit) in theirs.items():
        packets, frame_bytes = ours[key]
        assert packets == frames, key
        if unit == "bytes":
            assert frame_bytes == size, key
        else:
            assert abs(frame_bytes / SCALE[unit] - size) <= 1, key
