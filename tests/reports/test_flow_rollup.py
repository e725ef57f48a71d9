"""The 5-minute rollups of exported flows (forensics/store/flow_rollup.py, forensics/reports/rollup.py): written at
import (a lake: per flows part; a single-file case: per capture), read by protocol_mix in place of those flows, and
the report is the same as read from every flow row, item by item, bin by bin, in every unit, after retention too.

The case: a capture of NetFlow v5 datagrams (an exporter's traffic to its collector, written with dpkt), so that one
capture (and one lake part) holds both the exported flows (rolled up) and the capture's own flows built from its
packets (read as rows). The thresholds are lowered (ROLLUP_MIN_ROWS, HOME_BITS_MIN_ROWS) so that a small capture
takes the paths a large one takes."""

from __future__ import annotations

import datetime as dt
import struct

import dpkt
import numpy as np
import pytest

import forensics.reports.runner as runner
from forensics.ingest import import_paths
from forensics.reports import run_report
from forensics.reports.rollup import install_rollup
from forensics.store import Case, flow_rollup, lake_stats
from forensics.store.retain import prune_before
from tests.conftest import CORPUS

BASE = 1_700_000_000  # the datagrams' export time (UTC)
RECORDS = 30  # flow records per NetFlow v5 datagram
FLOWS = 6_000


def _datagram(rng: np.random.Generator, seq: int, uptime_ms: int, base: int) -> bytes:
    header = struct.pack("!HHIIIIBBH", 5, RECORDS, uptime_ms, base + uptime_ms // 1000, 0, seq, 0, 0, 0)
    rec = np.zeros(RECORDS, dtype=[("src", ">u4"), ("dst", ">u4"), ("nexthop", ">u4"), ("input", ">u2"),
                                   ("output", ">u2"), ("pkts", ">u4"), ("octets", ">u4"), ("first", ">u4"),
                                   ("last", ">u4"), ("sport", ">u2"), ("dport", ">u2"), ("pad1", "u1"),
                                   ("flags", "u1"), ("proto", "u1"), ("tos", "u1"), ("src_as", ">u2"),
                                   ("dst_as", ">u2"), ("src_mask", "u1"), ("dst_mask", "u1"), ("pad2", ">u2")])
    home = (192 << 24) + (168 << 16) + rng.integers(0, 256, RECORDS)  # 192.168.0.0/24: home by default
    net = (13 << 24) + rng.integers(0, 1 << 16, RECORDS)
    out = rng.random(RECORDS) < 0.5
    rec["src"], rec["dst"] = np.where(out, home, net), np.where(out, net, home)
    rec["dst"][::7] = (224 << 24) + 251  # multicast: neither home nor internet
    rec["pkts"] = rng.integers(1, 50, RECORDS)
    rec["octets"] = rng.integers(40, 60_000, RECORDS)
    # starts spread over the last 40 minutes: the flows fall in several 5-minute bins, some straddling the hour
    first = uptime_ms - rng.integers(1_000, 2_400_000, RECORDS)
    rec["first"], rec["last"] = first, first + rng.integers(0, 60_000, RECORDS)
    rec["sport"], rec["dport"] = rng.integers(1024, 65535, RECORDS), rng.choice([53, 80, 443, 445], RECORDS)
    rec["proto"] = rng.choice([6, 17, 1], RECORDS)
    return header + rec.tobytes()


def netflow_pcap(path, n_datagrams: int, base: int = BASE) -> None:
    """A pcap of NetFlow v5 datagrams, RECORDS flows each, exported around `base` (UTC seconds)."""
    rng = np.random.default_rng(5)
    with path.open("wb") as f:
        w = dpkt.pcap.Writer(f)
        for seq in range(n_datagrams):
            uptime_ms = 3_000_000 + seq * 900  # one datagram every 0.9 s
            udp = dpkt.udp.UDP(sport=50000, dport=2055, data=_datagram(rng, seq * RECORDS, uptime_ms, base))
            udp.ulen = len(udp)
            ip = dpkt.ip.IP(src=bytes([192, 168, 0, 1]), dst=bytes([192, 168, 0, 2]), p=17, data=udp)
            ip.len = len(ip)
            eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=0x0800, data=ip)
            w.writepkt(bytes(eth), ts=base - 3_000 + uptime_ms / 1000)


@pytest.fixture
def small_thresholds(monkeypatch):
    monkeypatch.setattr(flow_rollup, "ROLLUP_MIN_ROWS", 1_000)
    monkeypatch.setattr(lake_stats, "HOME_BITS_MIN_ROWS", 1_000)


@pytest.fixture(params=["lake", "file"])
def netflow_case(request, tmp_path, small_thresholds, monkeypatch):
    capture = tmp_path / "netflow.pcap"
    netflow_pcap(capture, FLOWS // RECORDS)
    case_path = tmp_path / ("case" if request.param == "lake" else "case.duckdb")
    monkeypatch.setenv("FORENSICS_LAYOUT", request.param)
    with Case.open(case_path) as case:
        summary = import_paths(case, [str(capture)])
    assert [f.status for f in summary.files] == ["imported"]
    monkeypatch.delenv("FORENSICS_LAYOUT")
    return case_path


def _answer(case, params: dict, rollups: bool, monkeypatch) -> tuple:
    """protocol_mix's whole answer, reading the rollups or every flow row; and the parts read from a rollup."""
    used: list = []

    def spy(*args):
        used.append(install_rollup(*args))
        return used[-1]

    monkeypatch.setattr(runner, "install_rollup", spy)
    if not rollups:
        monkeypatch.setattr(runner, "rollup_usable", lambda *a: False)
    try:
        r = run_report(case, "protocol_mix", dict(params))
    finally:
        monkeypatch.undo()
        monkeypatch.setattr(flow_rollup, "ROLLUP_MIN_ROWS", 1_000)
        monkeypatch.setattr(lake_stats, "HOME_BITS_MIN_ROWS", 1_000)
    shape = ((r.start, r.end, r.bin_secs, r.binning), r.coverage, r.notes,
             [(s.name, [(i.rank, i.names, i.others, i.values) for i in s.items], s.series) for s in r.sections])
    return shape, used[-1].parts + used[-1].captures


def test_import_rolls_up_the_exported_flows_only(netflow_case):
    with Case.open(netflow_case, read_only=True) as case:
        rolled, flows = case.con.execute("SELECT count(DISTINCT coalesce(path, capture_id::VARCHAR)), sum(flows) "
                                         "FROM flow_rollups").fetchone()
        exported, from_packets = case.con.execute(
            "SELECT count(*) FILTER (WHERE source = 'netflow_v5'), count(*) FILTER (WHERE source = 'pcap') "
            "FROM flows").fetchone()
        sums = case.con.execute(
            "SELECT (SELECT sum(bytes) FROM flow_rollups), (SELECT sum(packets) FROM flow_rollups), "
            "(SELECT sum(bytes) FROM flows WHERE source <> 'pcap'), "
            "(SELECT sum(packets) FROM flows WHERE source <> 'pcap')").fetchone()
    assert exported == FLOWS and from_packets >= 1  # the datagrams' own flow is in the same part
    assert rolled == 1 and flows == FLOWS
    assert sums[0] == sums[2] and sums[1] == sums[3]


@pytest.mark.parametrize("params", [
    {}, {"unit": "bytes"}, {"unit": "flows", "bin": "3600"}, {"unit": "pps", "ip_version": "4"},
    {"unit": "packets", "bin": "600"},
    {"from": "2023-11-14T21:52:13", "to": "2023-11-14T22:40:00"},  # widened to whole bins: the rollups still fit
])
def test_protocol_mix_from_rollups_equals_every_row(netflow_case, params, monkeypatch):
    with Case.open(netflow_case, read_only=True) as case:
        from_rows, none = _answer(case, params, False, monkeypatch)
        from_rollups, parts = _answer(case, params, True, monkeypatch)
    assert none == [] and len(parts) == 1  # the rollup was read, and was not in the first run
    assert from_rollups == from_rows
    assert any(items for _, items, _ in from_rows[3])


@pytest.mark.parametrize("params", [
    {"bin": "60"}, {"bin": "450"}, {"scope": "home"}, {"basis": "packets"},
])
def test_rollups_are_not_read_where_they_cannot_answer(netflow_case, params, monkeypatch):
    with Case.open(netflow_case, read_only=True) as case:
        from_rows, _ = _answer(case, params, False, monkeypatch)
        answered, parts = _answer(case, params, True, monkeypatch)
    assert parts == [] and answered == from_rows


def test_retention_leaves_no_rollup_of_what_it_pruned(netflow_case, monkeypatch):
    with Case.open(netflow_case) as case:
        lo, hi = case.con.execute("SELECT min(first_ts), max(first_ts) FROM flows WHERE source <> 'pcap'").fetchone()
        cutoff = lo + (hi - lo) / 2
        assert case.con.execute("SELECT count(*) FROM flow_rollups").fetchone()[0] > 0
        removed = prune_before(case, "flows", cutoff)
        if case.lake_root is not None:  # (the lake's files go after the COMMIT)
            case.finish_lake_commit()
        assert removed > 0
        assert case.con.execute("SELECT count(*) FROM flow_rollups").fetchone()[0] == 0  # rewritten / touched
    with Case.open(netflow_case, read_only=True) as case:
        params = {"from": (cutoff - dt.timedelta(minutes=5)).replace(second=0, microsecond=0).isoformat()}
        from_rows, _ = _answer(case, params, False, monkeypatch)
        answered, _ = _answer(case, params, True, monkeypatch)
    assert answered == from_rows


def test_a_capture_of_packets_only_gets_no_rollup(tmp_path, small_thresholds):
    """Flows built from packets only (their footer says so): no rollup, no statement at import."""
    with Case.open(tmp_path / "case") as case:
        import_paths(case, [str(CORPUS / "files" / "zeek" / "smtp.pcap")])
        assert case.con.execute("SELECT count(*) FROM flows").fetchone()[0] > 0
        assert case.con.execute("SELECT count(*) FROM flow_rollups").fetchone()[0] == 0
