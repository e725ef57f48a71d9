"""--basis auto | packets | flows (issue 13): packet-time bins equal a dpkt computation over the capture's packets,
flow-start bins equal the same flows binned by their first packet (flows cut as the importer cuts them: idle gap
over 15 s, FIN/RST, active timeout 30 min), on a capture whose flows span several bins, beside exported NetFlow v5
records in an hour without packets."""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import subprocess
import sys
from collections import defaultdict

import dpkt
import jsonschema
import pytest

from forensics.netaddr import int_to_ip
from forensics.render.jsonout import SCHEMA_PATH
from forensics.reports import run_report
from forensics.store import Case
from tests import builders as b
from tests.conftest import ROOT, copy_case
from tests.inprocess import cli

T0 = 1_473_163_200.0  # 2016-09-06T12:00:00Z
BIN = 300
IDLE_US, ACTIVE_US = 15_000_000, 1_800_000_000  # queries/derive/flows_from_packets.sql defaults
EPOCH = dt.datetime(1970, 1, 1)
# (src, dst, proto, sport, dport, first offset s, step s, count, gap after packet n or None)
LONG_FLOWS = [
    ("10.0.0.1", "8.8.8.8", 17, 40001, 53, 7.5, 9.0, 160, None),  # 24 min: five bins
    ("203.0.113.9", "10.0.0.2", 6, 443, 50000, 61.0, 11.0, 120, 60),  # a 40 s gap: two flows
    ("10.0.0.3", "198.51.100.7", 6, 50001, 80, 290.0, 7.0, 200, None),  # starts 10 s before a bin edge
]
EXPORT_AT = T0 + 3600 + 900  # v5 records of 13:00-13:15, an hour without packets


def run(*args: str) -> subprocess.CompletedProcess:
    """In-process (tests.inprocess.cli): these tests check what the commands answer and store."""
    return cli(*args)


def process(*args: str) -> subprocess.CompletedProcess:
    """The real process: its exit code and stderr line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FORENSICS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def long_flows_pcap() -> bytes:
    recs = []
    for n, (src, dst, proto, sport, dport, first, step, count, gap) in enumerate(LONG_FLOWS):
        t = T0 + first
        for i in range(count):
            payload = bytes([65 + n]) * (20 + (i * 37 + n * 11) % 900)
            seg = (b.udp(sport, dport, payload) if proto == 17
                   else b.tcp(sport, dport, flags=0x18, payload=payload))
            recs.append((t, b.eth(0x0800, b.ipv4(src, dst, proto, seg))))
            t += step + (40.0 if gap is not None and i == gap else 0.0)
    recs.sort(key=lambda r: r[0])
    return b.pcap_file(recs)


def v5_export(records: list[tuple], export_secs: int, sequence: int, uptime_ms: int = 10_000_000) -> bytes:
    """One NetFlow v5 datagram: records (src, dst, proto, sport, dport, packets, bytes, first unix s, last unix s)."""
    head = struct.pack("!HHIIIIBBH", 5, len(records), uptime_ms, export_secs, 0, sequence, 0, 0, 0)
    body = b""
    for src, dst, proto, sport, dport, pkts, nbytes, first, last in records:
        body += struct.pack("!4s4s4sHHIIIIHHxBBBHHBBxx", _ip4(src), _ip4(dst), _ip4("0.0.0.0"), 1, 2, pkts, nbytes,
                            uptime_ms - (export_secs - first) * 1000, uptime_ms - (export_secs - last) * 1000,
                            sport, dport, 0, proto, 0, 0, 0, 0, 0)
    return head + body


def _ip4(text: str) -> bytes:
    return bytes(int(x) for x in text.split("."))


EXPORTED = [("10.0.9.1", "1.1.1.1", 17, 5353, 53, 40, 64_000, int(EXPORT_AT) - 800, int(EXPORT_AT) - 100),
            ("1.1.1.1", "10.0.9.1", 6, 443, 40000, 90, 123_000, int(EXPORT_AT) - 500, int(EXPORT_AT) - 20)]


@pytest.fixture(scope="module")
def basis_case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("basis")
    cap = tmp / "long.pcap"
    cap.write_bytes(long_flows_pcap())
    nf = tmp / "export.v5"
    nf.write_bytes(v5_export(EXPORTED, int(EXPORT_AT), 0))
    db = tmp / "case.duckdb"
    proc = run("import", "--db", str(db), "-q", str(cap), str(nf))
    assert proc.returncode == 0, proc.stderr
    return db, cap


def _bin(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us - us % (BIN * 1_000_000))


def dpkt_bins(cap, basis: str) -> dict[tuple[dt.datetime, str, str], int]:
    """{(bin, src, dst): IP-layer bytes} from the capture read with dpkt: by each packet's time (packets), or each
    flow's bytes in the bin of its first packet (flows; flows cut at idle gaps > 15 s and every 30 min)."""
    per_key: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
    with open(cap, "rb") as fh:
        for ts, buf in dpkt.pcap.Reader(fh):
            ip = dpkt.ethernet.Ethernet(buf).data
            l4 = ip.data
            key = (ip.src, ip.dst, ip.p, l4.sport, l4.dport)
            us = round(float(ts) * 1_000_000)
            per_key[key].append((us, ip.len))
    out: dict[tuple, int] = defaultdict(int)
    for key, pkts in per_key.items():
        src, dst = int_to_ip(int.from_bytes(key[0], "big") | 0xFFFF00000000), \
            int_to_ip(int.from_bytes(key[1], "big") | 0xFFFF00000000)
        seg_start = last = None
        for us, size in pkts:
            if basis == "packets":
                out[(_bin(us), src, dst)] += size
                continue
            if last is None or us - last > IDLE_US or us - seg_start >= ACTIVE_US:
                seg_start = us
            last = us
            out[(_bin(seg_start), src, dst)] += size
    return dict(out)


def exported_bins() -> dict[tuple[dt.datetime, str, str], int]:
    return {(_bin(first * 1_000_000), src, dst): nbytes for src, dst, _, _, _, _, nbytes, first, _ in EXPORTED}


def report_bins(db, basis: str) -> tuple[dict, object]:
    with Case.open(str(db), read_only=True) as case:
        result = run_report(case, "attributes", {"attributes": "src_ip,dst_ip", "unit": "bytes", "bin": BIN,
                                                 "top": 50, "from": "2016-09-06T12:00:00Z",
                                                 "to": "2016-09-06T14:00:00Z", "basis": basis})
    section = result.sections[0]
    pos = section.measures.index("bytes")
    got = {}
    for t, row in section.series.items():
        for i, values in row.items():
            if values[pos]:
                src, dst = section.items[i].names
                got[(t, src, dst)] = int(values[pos])
    return got, result


def test_basis_packets_equals_dpkt_packet_time(basis_case):
    db, cap = basis_case
    got, result = report_bins(db, "packets")
    assert got == dpkt_bins(cap, "packets")
    assert result.basis == "packets" and result.binning == "packet-time"
    # the hour of exported flows only: no packets held, so no value under --basis packets
    export_bins = {t for t, _, _ in exported_bins()}
    assert export_bins and all(result.bin_basis[t] is None and not result.has_value(t) for t in export_bins)
    assert {result.coverage[t] for t in export_bins} <= {"flows", "partial"}  # the export spans 13:01:40-13:14:40
    assert {result.bin_basis[t] for t in result.bins() if result.coverage[t] == "packets"} == {"packet-time"}


def test_basis_flows_equals_dpkt_flow_start(basis_case):
    db, cap = basis_case
    got, result = report_bins(db, "flows")
    want = dpkt_bins(cap, "flows")
    for k, v in exported_bins().items():
        want[k] = want.get(k, 0) + v
    assert got == want
    assert result.basis == "flows" and result.binning == "flow-start"
    packet_bins = [t for t in result.bins() if result.coverage[t] == "packets"]
    assert packet_bins and {result.bin_basis[t] for t in packet_bins} == {"flow-start"}
    # flow-start binning moves bytes: the long flows' bins differ from the packet-time ones
    assert want != dpkt_bins(cap, "packets")


def test_basis_auto_takes_finest_per_bin(basis_case):
    db, cap = basis_case
    got, result = report_bins(db, "auto")
    want = dpkt_bins(cap, "packets")
    want.update(exported_bins())
    assert got == want
    export_bins = {t for t, _, _ in exported_bins()}
    assert {result.bin_basis[t] for t in export_bins} == {"flow-start"}
    assert all(result.bin_basis[t] is None for t in result.bins() if result.coverage[t] == "none")


def test_basis_in_json_and_stored_runs_keep_bases_apart(basis_case, tmp_path):
    db = tmp_path / "c.duckdb"
    copy_case(basis_case[0], db)
    args = ["attributes", "--db", str(db), "--bin", "5min", "--unit", "bytes", "--json",
            "--from", "2016-09-06T12:00:00Z", "--to", "2016-09-06T14:00:00Z"]
    docs = {}
    for basis in ("packets", "flows", "auto"):
        proc = run("report", *args, "--basis", basis)
        assert proc.returncode == 0, proc.stderr
        assert "reused" not in proc.stderr  # a run under another basis is never reused
        doc = json.loads(proc.stdout)
        jsonschema.validate(doc, json.loads(SCHEMA_PATH.read_text()))  # basis maps with nulls included
        docs[basis] = doc["response"]["result"]["data"]
    again = run("report", *args, "--basis", "flows")
    assert "reused run" in again.stderr
    assert json.loads(again.stdout)["response"]["result"]["data"]["sections"] == docs["flows"]["sections"]
    for basis, doc in docs.items():
        assert doc["basis"] == basis
        sec = doc["data"]
        for t, where in sec["basis"].items():
            assert (where is None) == (sec["value"][t] is None or all(v is None for v in sec["value"][t].values()))
    packets = docs["packets"]["data"]
    flows_only = [t for t, c in packets["coverage"].items() if c == "flows"]
    assert flows_only and all(packets["basis"][t] is None for t in flows_only)
    assert all(all(v is None for v in packets["value"][t].values()) for t in flows_only)
    rec = run("reconstruct", *args, "--basis", "flows")
    assert rec.returncode == 0 and "stored run" in rec.stderr
    assert json.loads(rec.stdout)["response"]["result"]["data"]["basis"] == "flows"
    csv_out = run("report", *[a for a in args if a != "--json"], "--basis", "packets", "--format", "csv")
    lines = csv_out.stdout.splitlines()
    assert lines[0].endswith(",coverage,basis")
    at = lines[0].split(",").index("bin")
    bin_rows = [line.split(",") for line in lines[1:] if line.split(",")[at]]  # rows with a bin
    assert bin_rows and {r[-1] for r in bin_rows} == {"packet-time"}  # no row for a bin without packets held
    listed = json.loads(run("runs", "attributes", "--db", str(db), "--json").stdout)["runs"]
    assert [r["basis"] for r in listed] == ["packets", "flows", "auto", "flows"]
    bad = process("report", *args, "--basis", "bytes")
    assert bad.returncode == 2 and "--basis 'bytes'" in bad.stdout + bad.stderr
