"""What the reports compute, on a generated capture with known contents, against dpkt's reading of the same file.

The capture holds a long TCP download that crosses several 5-minute bins, multicast, broadcast and
link-local traffic from a home host, a SYN scan of 300 ports, and inbound SMB probes. dpkt (a packet
parser independent of forensics) gives each packet's time, addresses, IP length and flags; the oracle
sums those per bin and per host.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import Counter, defaultdict

import dpkt
import pytest

from forensics.ingest import import_paths
from forensics.reports import run_report
from forensics.store import Case
from tests import builders as b

T0 = 1473163200.0  # 2016-09-06T12:00:00Z
BIN = 300
HOME = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                          "fc00::/7")]
SCANNED = 300


def _frames() -> list[tuple[float, bytes]]:
    out = []

    def v4(t, src, dst, proto, seg):
        out.append((T0 + t, b.eth(0x0800, b.ipv4(src, dst, proto, seg))))

    # a download over 20 minutes: a packet each way every 7 s, sizes varying (one flow each way)
    for i in range(170):
        t = 30 + i * 7.0
        v4(t, "10.0.0.5", "93.184.216.34", 6, b.tcp(50000, 443, 0x02 if i == 0 else 0x10, b"x" * (i % 5)))
        v4(t + 0.01, "93.184.216.34", "10.0.0.5", 6, b.tcp(443, 50000, 0x12 if i == 0 else 0x10, b"y" * (200 + i)))
    # multicast, broadcast and link-local from home: never the internet
    for i in range(12):
        t = 60 + i * 40.0
        v4(t, "10.0.0.5", "239.255.255.250", 17, b.udp(51000, 1900, b"M-SEARCH" * 10))
        v4(t + 1, "10.0.0.5", "224.0.0.252", 17, b.udp(51001, 5355, b"q" * 30))
        v4(t + 2, "10.0.0.5", "255.255.255.255", 17, b.udp(68, 67, b"d" * 300))
        v4(t + 3, "169.254.7.7", "169.254.255.255", 17, b.udp(137, 137, b"n" * 50))
        out.append((T0 + t + 4, b.eth(0x86DD, b.ipv6("fe80::1", "ff02::1", 17, b.udp(546, 547, b"s" * 40)))))
    # a SYN scan of ports 1..300 from a home host; closed ports answer RST/ACK
    for port in range(1, SCANNED + 1):
        t = 400 + port * 0.5
        v4(t, "10.0.0.9", "203.0.113.7", 6, b.tcp(40000, port, 0x02))
        v4(t + 0.001, "203.0.113.7", "10.0.0.9", 6, b.tcp(port, 40000, 0x14))
    # inbound SMB probes from the internet to a home host
    for i in range(5):
        v4(900 + i * 20.0, "198.51.100.3", "10.0.0.7", 6, b.tcp(41000 + i, 445, 0x02))
    return sorted(out, key=lambda r: r[0])


def _dpkt_packets(path) -> list[dict]:
    """Each IP packet as dpkt decodes it: time, addresses, IP-layer length, protocol, ports, TCP flags."""
    rows = []
    with open(path, "rb") as fh:
        for ts, buf in dpkt.pcap.Reader(fh):
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, dpkt.ip.IP):
                length, src, dst = ip.len, ipaddress.ip_address(ip.src), ipaddress.ip_address(ip.dst)
            elif isinstance(ip, dpkt.ip6.IP6):
                length, src, dst = ip.plen + 40, ipaddress.ip_address(ip.src), ipaddress.ip_address(ip.dst)
            else:
                continue
            seg = ip.data
            rows.append({"ts": ts, "src": src, "dst": dst, "len": length, "proto": ip.p if hasattr(ip, "p") else ip.nxt,
                         "sport": getattr(seg, "sport", None), "dport": getattr(seg, "dport", None),
                         "flags": seg.flags if isinstance(seg, dpkt.tcp.TCP) else None})
    return rows


def _flow_starts(pkts: list[dict]) -> list[dict]:
    """The first packet of each flow as documented (queries/derive/flows_from_packets.sql): per 5-tuple, a new
    flow after an idle gap of more than 15 s or after a packet with FIN or RST."""
    last: dict = {}
    starts = []
    for p in sorted(pkts, key=lambda p: p["ts"]):
        key = (p["src"], p["dst"], p["proto"], p["sport"], p["dport"])
        prev = last.get(key)
        if prev is None or p["ts"] - prev["ts"] > 15 or (prev["flags"] or 0) & 0x05:
            starts.append(p)
        last[key] = p
    return starts


def _home(a) -> bool:
    return any(a.version == n.version and a in n for n in HOME)


def _special(a) -> bool:
    return (a.is_multicast or a.is_link_local or a.is_loopback or a.is_unspecified or a.is_reserved
            or str(a) == "255.255.255.255")


def _internet(a) -> bool:
    return not _home(a) and not _special(a)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    folder = tmp_path_factory.mktemp("semantics")
    path = folder / "mixed.pcap"
    path.write_bytes(b.pcap_file(_frames()))
    case = Case.open(folder / "case.duckdb")
    assert import_paths(case, [str(path)]).exit_code == 0
    yield case, _dpkt_packets(path)
    case.close()


def _bin(ts: float) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=int(ts) // BIN * BIN)


def _values(section, item, names=("bytes", "packets", "flows")):
    return {m: item.values[section.measures.index(m)] for m in names}


def test_internet_summary_bins_by_packet_time_and_keeps_multicast_out(capture):
    case, pkts = capture
    r = run_report(case, "internet_summary", {"unit": "bytes", "bin": "5min"})
    assert r.binning == "packet-time"
    assert r.measure_units["value"] == "bytes (IP layer)"
    section = r.sections[0]
    pos = {it.names[0]: i for i, it in enumerate(section.items)}
    out = [p for p in pkts if _home(p["src"]) and _internet(p["dst"])]
    # the multicast, broadcast and link-local packets exist, and none of them counts as internet
    assert any(p["dst"].is_multicast for p in pkts) and not any(p["dst"].is_multicast for p in out)
    per_bin = defaultdict(int)
    for p in out:
        per_bin[_bin(p["ts"])] += p["len"]
    got = {t: row[pos["Home to Internet"]][0] for t, row in section.series.items() if pos["Home to Internet"] in row}
    assert got == per_bin  # bytes per bin, exactly, binned by each packet's time
    assert len(per_bin) >= 4  # the download crosses several bins
    item = section.items[pos["Home to Internet"]]
    flows = [p for p in _flow_starts(pkts) if _home(p["src"]) and _internet(p["dst"])]
    assert _values(section, item) == {"bytes": sum(p["len"] for p in out), "packets": len(out), "flows": len(flows)}
    local = [p for p in pkts if _special(p["src"]) or _special(p["dst"])]
    assert section.items[pos["Local (multicast, broadcast, link-local)"]].values[0] == sum(p["len"] for p in local)


def test_rates_per_bin_equal_packet_time_binning(capture):
    case, pkts = capture
    r = run_report(case, "top_talkers", {"bin": "5min", "top": 20})
    section = r.sections[0]
    idx = {it.names[0]: i for i, it in enumerate(section.items)}
    host = "10.0.0.5"
    want = defaultdict(float)
    for p in pkts:
        if str(p["src"]) == host:
            want[_bin(p["ts"])] += p["len"] * 8 / BIN
    got = {t: row[idx[host]][section.measures.index("out")] for t, row in section.series.items() if idx[host] in row}
    assert got == pytest.approx({t: want.get(t, 0.0) for t in got}, rel=1e-12, abs=1e-12)
    assert {t for t, v in want.items() if v} <= set(got)


def test_item_totals_equal_dpkt(capture):
    case, pkts = capture
    r = run_report(case, "top_talkers", {"top": 50})
    section = r.sections[0]
    by_host = defaultdict(lambda: Counter())
    for p in pkts:
        for a in (p["src"], p["dst"]):
            by_host[str(a)]["bytes"] += p["len"]
            by_host[str(a)]["packets"] += 1
    flows: Counter = Counter()
    for p in _flow_starts(pkts):
        flows[str(p["src"])] += 1
        flows[str(p["dst"])] += 1
    assert {it.names[0] for it in section.items} == set(by_host)
    for it in section.items:
        got = _values(section, it)
        assert (got["bytes"], got["packets"], got["flows"]) == (by_host[it.names[0]]["bytes"],
                                                              by_host[it.names[0]]["packets"], flows[it.names[0]])
    assert r.measure_units == {"in": "bps (IP layer)", "out": "bps (IP layer)", "total": "bps (IP layer)",
                               "bytes": "bytes (IP layer)", "packets": "packets", "flows": "flows",
                               "peers": "distinct addresses"}


def test_a_scan_shows_its_distinct_port_count(capture):
    case, pkts = capture
    r = run_report(case, "top_ports", {"top": 5})
    ports, clients = r.sections
    scanned = {p["dport"] for p in pkts if str(p["src"]) == "10.0.0.9" and p["flags"] == 0x02}
    assert len(scanned) == SCANNED
    first = clients.items[0]
    assert first.names == ["10.0.0.9"] and first.values[clients.measures.index("ports")] == len(scanned)
    # the RST/ACK answers count for the probed port (the service side), not the scanner's port 40000
    assert "40000" not in [it.names[1] for it in ports.items]
    https = next(it for it in ports.items if it.names == ["tcp", "443"])
    want = sum(p["len"] for p in pkts if 443 in (p["sport"], p["dport"]))
    assert https.values[ports.measures.index("bytes")] == want


def test_packet_field_filter_counts_packets(capture):
    case, pkts = capture
    r = run_report(case, "protocol_mix", {}, filter_expr="tcp[tcpflags] & tcp-syn != 0")
    syn = [p for p in pkts if p["flags"] is not None and p["flags"] & 0x02]
    section = r.sections[0]
    tcp = next(it for it in section.items if it.names == ["tcp"])
    assert _values(section, tcp, ("packets", "bytes")) == {"packets": len(syn), "bytes": sum(p["len"] for p in syn)}
    assert any("selects packets" in n for n in r.notes)
    r = run_report(case, "protocol_mix", {}, filter_expr="greater 100")
    assert any("exported flows are left out" in n for n in r.notes)
    big = [p for p in pkts if p["len"] + 14 >= 100]  # greater: frame length, Ethernet header included
    assert sum(it.values[section.measures.index("packets")] for it in r.sections[0].items) == len(big)


def test_wannacry_sections_by_direction_and_the_empty_hint(capture):
    case, pkts = capture
    r = run_report(case, "wannacry", {}, filter_expr="host 198.51.100.3")
    names = [s.name for s in r.sections]
    assert names[:2] == ["src_dst", "dst_out_if"] and set(names[2:]) == {"in_src_dst", "home_src_dst"}
    inbound = dict((s.name, s) for s in r.sections)["in_src_dst"]
    probes = [p for p in pkts if p["dport"] == 445]
    assert sum(it.values[inbound.measures.index("packets")] for it in inbound.items) == len(probes)
    out = r.sections[0]
    assert out.items == [] and "home to the internet" in out.empty_hint and "--from/--to" in out.empty_hint
    assert any(n.startswith("src_dst: no traffic from home to the internet") for n in r.notes)


def test_exported_flows_bin_by_flow_start(case):
    r = run_report(case, "top_talkers", {})
    assert r.binning == "flow-start"


@pytest.mark.parametrize("args", [
    ["--from", "0001-01-01T00:00:00Z", "--to", "9999-12-31T23:59:59Z"],
    ["--bin", "999999999999999999999d"],
    ["--bin", "1s", "--from", "2003-01-01T00:00:00Z", "--to", "2020-01-01T00:00:00Z"],
])
def test_unbounded_windows_are_one_line_and_exit_2(tmp_path, args):
    import subprocess
    import sys

    path = tmp_path / "small.pcap"
    path.write_bytes(b.pcap_file(_frames()[:20]))
    with Case.open(tmp_path / "small.duckdb") as case:
        import_paths(case, [str(path)])
    done = subprocess.run([sys.executable, "-m", "forensics", "report", "top_talkers", "--db",
                           str(tmp_path / "small.duckdb"), "--format", "table", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""


def test_an_empty_scope_keeps_the_case_window_and_says_so(capture):
    case, pkts = capture
    r = run_report(case, "top_talkers", {}, filter_expr="host 192.0.2.99")
    assert r.sections[0].items == []
    first = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=min(p["ts"] for p in pkts))
    assert r.start <= first < r.end and r.start.year == 2016
    assert any("no traffic matches" in n for n in r.notes)


def test_captures_and_flow_exports_together_say_how_each_was_binned(tmp_path):
    """A corpus capture of NetFlow v5 export datagrams: its UDP packets are binned by packet time, the 42
    NetFlow records it carries (no packets of their own) by their start; the note says so."""
    from pathlib import Path

    capture = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "files" / "graylog-netflow" \
        / "pmacctd-netflow5.pcap"
    assert capture.is_file(), f"corpus capture missing: {capture} (the tests need ../shared/corpus)"
    with Case.open(tmp_path / "nf.duckdb") as case:
        import_paths(case, [str(capture)])
        records = case.con.execute("SELECT count(*) FROM flows WHERE source = 'netflow_v5'").fetchone()[0]
        r = run_report(case, "top_talkers", {})
    assert r.binning == "packet-time" and records == 42
    assert any(f"{records:,} exported flow records" in n and "by their start" in n for n in r.notes)
