"""pcapng Interface Statistics Blocks into the interfaces table, and NetFlow v5/v9/IPFIX sequence-number gaps
into flow_sequence_gaps (issue 13: sources known to have dropped), checked against the bytes as built and
against tshark's own sequence analysis of corpus exports."""

from __future__ import annotations

import re
import subprocess

import pytest

from forensics.ingest import import_paths
from forensics.readers.netflow import ExportHeader, SequenceTracker
from forensics.store import Case
from forensics.store.flow_sources import flow_source_summary
from tests import builders as b
from tests.conftest import CORPUS

T0 = 1_473_163_200.0  # 2016-09-06T12:00:00Z


def _udp(i: int) -> bytes:
    return b.eth(0x0800, b.ipv4("10.0.0.1", "8.8.8.8", 17, b.udp(1000 + i, 53, b"x" * (20 + i))))


def isb_capture() -> bytes:
    """Two interfaces (the second at nanosecond resolution); two ISBs for eth0 (the later one counts), one for
    eth1 without drops."""
    pkts = [b.Packet(_udp(i), ts=T0 + 10 * i, iface=i % 2) for i in range(12)]
    return b.pcapng_file([b.Section([
        b.Interface(name="eth0"), b.Interface(name="eth1", tsresol=9), *pkts,
        b.InterfaceStats(0, ts=T0 + 60, start=T0, end=T0 + 60, ifrecv=6, ifdrop=1, osdrop=0),
        b.InterfaceStats(0, ts=T0 + 120, start=T0, end=T0 + 120.5, ifrecv=15, ifdrop=7, osdrop=3,
                         filteraccept=12, usrdeliv=6),
        b.InterfaceStats(1, ts=T0 + 120, start=T0 + 10, end=T0 + 120, ifrecv=6, ifdrop=0, osdrop=0),
    ])])


def test_isb_counters_and_times_stored_per_interface(tmp_path):
    cap = tmp_path / "isb.pcapng"
    cap.write_bytes(isb_capture())
    tshark = subprocess.run(["tshark", "-r", str(cap), "-T", "fields", "-e", "frame.number"], capture_output=True,
                            text=True, check=True).stdout.split()
    with Case.open(tmp_path / "c.duckdb") as case:
        import_paths(case, [str(cap)])
        assert case.con.execute("SELECT packets FROM captures").fetchone()[0] == len(tshark) == 12
        rows = case.con.execute(
            "SELECT iface, name, isb_ifrecv, isb_ifdrop, isb_filteraccept, isb_osdrop, isb_usrdeliv, "
            "epoch_us(isb_starttime), epoch_us(isb_endtime) FROM interfaces ORDER BY iface").fetchall()
    us = int(T0) * 1_000_000
    assert rows == [(0, "eth0", 15, 7, 12, 3, 6, us, us + 120_500_000),
                    (1, "eth1", 6, 0, None, 0, None, us + 10_000_000, us + 120_000_000)]


def test_pcap_and_pcapng_without_isb_have_null_counters(tmp_path):
    cap = tmp_path / "plain.pcapng"
    cap.write_bytes(b.pcapng_file([b.Section([b.Interface(), b.Packet(_udp(0), ts=T0)])]))
    with Case.open(tmp_path / "c.duckdb") as case:
        import_paths(case, [str(cap)])
        assert case.con.execute("SELECT isb_ifdrop, isb_osdrop, isb_starttime FROM interfaces").fetchall() == [
            (None, None, None)]


def _h(version: int, seq: int, count: int = 0, secs: int = 1000) -> ExportHeader:
    return ExportHeader(version, count, secs, 0, 0, seq)


def test_sequence_tracker_counts_as_each_rfc_defines():
    t = SequenceTracker()
    # v5 counts flows: 30 flows at 100 make 130 next; 140 means 10 flows lost
    assert t.step(("a", 0, 5), _h(5, 100, count=30), None) is None
    gap = t.step(("a", 0, 5), _h(5, 140, count=5, secs=1060), None)
    assert (gap.expected, gap.got, gap.lost, gap.before_us, gap.after_us) == (130, 140, 10, 1_000_000_000,
                                                                              1_060_000_000)
    # v9 counts export packets, whatever they carry
    assert t.step(("a", 0, 9), _h(9, 7, count=20), None) is None
    assert t.step(("a", 0, 9), _h(9, 8, count=20), None) is None
    assert t.step(("a", 0, 9), _h(9, 11), None).lost == 2
    # IPFIX counts data records; a message with records waiting for a template leaves the next unchecked
    assert t.step(("a", 3, 10), _h(10, 50), 4) is None
    assert t.step(("a", 3, 10), _h(10, 54), None) is None
    assert t.step(("a", 3, 10), _h(10, 90), 2) is None
    assert t.step(("a", 3, 10), _h(10, 95), 0).lost == 3
    # wrap-around modulo 2^32, a repeated or reordered datagram is no gap, keys are apart
    assert t.step(("b", 0, 9), _h(9, 0xFFFFFFFF), None) is None
    assert t.step(("b", 0, 9), _h(9, 0), None) is None
    assert t.step(("b", 0, 9), _h(9, 2), None).lost == 1
    assert t.step(("b", 0, 9), _h(9, 1), None) is None
    assert t.step(("c", 0, 9), _h(9, 500), None) is None


_TSHARK_GAP = re.compile(r"Unexpected flow sequence for domain ID (\d+) \(expected (\d+), got (\d+)\)")


def tshark_gaps(path) -> set[tuple[int, int, int]]:
    """(domain, expected, got) of every forward gap tshark's cflow sequence analysis flags."""
    ports = set(subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "udp.dstport"], capture_output=True,
                               text=True, check=True).stdout.split())
    decode = [a for p in sorted(ports) for a in ("-d", f"udp.port=={p},cflow")]
    out = subprocess.run(["tshark", "-r", str(path), *decode, "-q", "-z", "expert"], capture_output=True, text=True,
                         check=True).stdout
    return {(int(d), int(e), int(g)) for d, e, g in _TSHARK_GAP.findall(out) if int(g) > int(e)}


@pytest.mark.parametrize("rel,exact", [
    ("files/graylog-netflow/netflow9.pcap", True),  # v9: five gaps of 1-2 export packets
    ("files/scapy/ipfix.pcap", True),  # IPFIX: 21 data records
    ("files/pmacct/101-NFv9-CISCO-cust_primitives__traffic-00.pcap", True),
    # IPFIX with template-only messages: tshark checks only messages carrying data, so it misses a gap before one
    ("files/pmacct/104-IPFIXv10-IPv6-CISCO-sampling_option__traffic-00.pcap", False),
])
def test_corpus_sequence_gaps_agree_with_tshark(tmp_path, rel, exact):
    path = CORPUS / rel
    with Case.open(tmp_path / "c.duckdb") as case:
        import_paths(case, [str(path)])
        ours = case.con.execute("SELECT observation_domain, expected_seq, got_seq, lost, lost_unit, version "
                                "FROM flow_sequence_gaps").fetchall()
        summary = flow_source_summary(case.con)  # what `forensics info` shows per exporter
    assert sum(s["sequence_gaps"] for s in summary) == len(ours)
    assert sum(s["lost"] for s in summary) == sum(r[3] for r in ours)
    want = tshark_gaps(path)
    assert want, "the corpus file has gaps tshark sees"
    got = {(d, e, g) for d, e, g, _, _, _ in ours}
    assert got == want if exact else want <= got
    assert all(lost == g - e and unit == {9: "export packets", 10: "data records"}[v]
               for _, e, g, lost, unit, v in ours)
