"""Field values of imported export records equal tshark's decode of the same datagrams."""

from __future__ import annotations

import re
import subprocess
from collections import Counter, defaultdict

import pytest
from flowcase import CORPUS, import_capture, manifest, udp_datagrams

from forensics.netaddr import ip_to_int
from forensics.store import Case

pytestmark = pytest.mark.oracle

ROWS = {r["path"]: r for r in manifest()}
NETFLOW_FILES = [
    "files/graylog-netflow/pmacctd-netflow5.pcap",
    "files/graylog-netflow/nprobe-netflow9-3.pcap",
    "files/scapy/netflowv9.pcap",
    "files/pmacct/100-IPFIXv10-CISCO__traffic-00.pcap",
    "files/pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-01.pcap",
    "files/pmacct/501-IPFIXv10-BGP-IPv6-CISCO-MPLS__traffic-00.pcap",
]
SFLOW_FILES = [r for r, row in ROWS.items() if "sflow" in row["categories"] and int(row["flow_records"] or 0) > 0]
CFLOW_FIELDS = ["frame.number", "cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr", "cflow.dstaddrv6",
                "cflow.srcport", "cflow.dstport", "cflow.protocol", "cflow.packets", "cflow.octets"]


def tshark(path, fields, decode=(), sep=",") -> list[list[list[str]]]:
    args = ["tshark", "-r", str(path)]
    for d in decode:
        args += ["-d", d]
    args += ["-T", "fields", "-E", "occurrence=a", "-E", f"aggregator={sep}"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [[c.split(sep) if c else [] for c in line.split("\t")] for line in out.splitlines()]


def decode_args(row) -> list[str]:
    return re.findall(r"-d (udp\.port==\d+,\w+)", row["flow_records_tshark"])


def _num(text: str) -> int:
    return int(text, 16) if text.startswith("0x") else int(text)


@pytest.mark.parametrize("rel", NETFLOW_FILES)
def test_netflow_fields_equal_tshark(tmp_path, rel):
    path = CORPUS / rel
    theirs: dict[int, Counter] = defaultdict(Counter)
    for cols in tshark(path, CFLOW_FIELDS, decode_args(ROWS[rel])):
        frame = int(cols[0][0])
        src4, src6, dst4, dst6 = cols[1], cols[2], cols[3], cols[4]
        if src4 and src6:
            continue  # mixed families in one datagram: lists cannot be zipped
        src, dst = (src4, dst4) if src4 else (src6, dst6)
        lists = [src, dst, *cols[5:10]]
        if not src or len({len(x) for x in lists}) != 1:
            continue
        for s, d, sp, dp, pr, pk, by in zip(*lists, strict=True):
            theirs[frame][(ip_to_int(s), ip_to_int(d), int(sp), int(dp), int(pr), int(pk), int(by))] += 1
    with Case.open(tmp_path / "case.duckdb") as case:
        import_capture(case, path)
        rows = case.con.execute(
            "SELECT record_pos, src_ip, dst_ip, src_port, "
            "CASE WHEN ip_proto IN (1, 58) THEN icmp_type * 256 + icmp_code ELSE dst_port END, "
            "ip_proto, packets, bytes FROM flows").fetchall()
    ours: dict[int, Counter] = defaultdict(Counter)
    for frame, *key in rows:
        ours[frame][tuple(-1 if k is None else int(k) for k in key)] += 1
    compared = sum(sum(c.values()) for c in theirs.values())
    assert compared * 3 >= len(rows) > 0
    for frame, counter in theirs.items():
        assert ours[frame] == counter, f"frame {frame}"


def test_v9_uptime_times_equal_tshark(tmp_path):
    """v9 FIRST/LAST_SWITCHED (sysUptime-relative) become the absolute times tshark shows."""
    rel = "files/graylog-netflow/nprobe-netflow9-3.pcap"
    rows = tshark(CORPUS / rel, ["frame.number", "cflow.sysuptime", "cflow.unix_secs", "cflow.timestart",
                                 "cflow.timeend", "cflow.srcaddr"])
    theirs = Counter()
    for cols in rows:
        if not cols[5] or len(cols[3]) != len(cols[5]):
            continue
        uptime, secs = float(cols[1][0]), int(cols[2][0])
        for start, end in zip(cols[3], cols[4], strict=True):
            # cflow.timestart is seconds of uptime; absolute = export secs - (uptime - start)
            first = round((secs - (uptime - float(start))) * 1000)
            last = round((secs - (uptime - float(end))) * 1000)
            theirs[(int(cols[0][0]), first, last)] += 1
    with Case.open(tmp_path / "case.duckdb") as case:
        import_capture(case, CORPUS / rel)
        ours = Counter(case.con.execute(
            "SELECT record_pos, epoch_ms(first_ts), epoch_ms(last_ts) FROM flows").fetchall())
    assert sum(theirs.values()) > 100
    assert {k: v for k, v in ours.items() if k in theirs} == theirs


@pytest.mark.parametrize("rel", SFLOW_FILES)
def test_sflow_fields_equal_tshark(tmp_path, rel):
    path = CORPUS / rel
    fields = ["frame.number", "sflow.flow_sample.sampling_rate", "sflow.flow_sample.input_interface",
              "sflow.flow_sample.input_interface_value"]
    theirs = Counter()
    for cols in tshark(path, fields, [d.replace("cflow", "sflow") for d in decode_args(ROWS[rel])]):
        frame = int(cols[0][0])
        compact, expanded = cols[2], cols[3]
        if compact and expanded:
            continue  # both sample kinds in one datagram: lists cannot be zipped
        for rate, in_if in zip(cols[1], compact or expanded, strict=True):
            theirs[(frame, _num(rate), _num(in_if))] += 1
    with Case.open(tmp_path / "case.duckdb") as case:
        import_capture(case, path)
        ours = Counter(case.con.execute(
            "SELECT record_pos, sampling_rate, in_if FROM flows WHERE source = 'sflow'").fetchall())
    assert theirs and ours == theirs


def _tshark_abs_us(text: str) -> int:
    """'Feb 28, 2023 09:46:01.088000000 UTC' -> unix microseconds."""
    import datetime as dt

    stamp, frac = " ".join(text.replace(" UTC", "").split()).split(".")
    d = dt.datetime.strptime(stamp, "%b %d, %Y %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return int(d.timestamp()) * 1_000_000 + int(frac[:6].ljust(6, "0"))


@pytest.mark.parametrize("rel", ["files/pmacct/100-IPFIXv10-CISCO__traffic-00.pcap",
                                 "files/akvorado/netflow__mpls.pcap",
                                 "files/akvorado/netflow__physicalinterfaces.pcap"])
def test_ipfix_absolute_times_equal_tshark(tmp_path, rel):
    path = CORPUS / rel
    theirs: dict[int, Counter] = defaultdict(Counter)
    for cols in tshark(path, ["frame.number", "cflow.abstimestart", "cflow.abstimeend"], decode_args(ROWS[rel]),
                       sep="|"):
        if cols[1] and len(cols[1]) == len(cols[2]):
            for s, e in zip(cols[1], cols[2], strict=True):
                theirs[int(cols[0][0])][(_tshark_abs_us(s), _tshark_abs_us(e))] += 1
    with Case.open(tmp_path / "case.duckdb") as case:
        import_capture(case, path)
        rows = case.con.execute("SELECT record_pos, epoch_us(first_ts), epoch_us(last_ts) FROM flows").fetchall()
    ours: dict[int, Counter] = defaultdict(Counter)
    for frame, first, last in rows:
        ours[frame][(first, last)] += 1
    assert theirs
    for frame, counter in theirs.items():
        assert not counter - ours[frame], f"frame {frame}"


@pytest.mark.parametrize("rel", SFLOW_FILES)
def test_sflow_sampled_header_addresses_equal_tshark(tmp_path, rel):
    """The sampled headers' addresses, decoded by the pcap decoder, are those tshark decodes inside sFlow."""
    path = CORPUS / rel
    outer = {frame: (src, dst) for frame, _, src, dst, *_ in udp_datagrams(path)}
    theirs = Counter()
    rows = tshark(path, ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "sflow_245.header"],
                  [d.replace("cflow", "sflow") for d in decode_args(ROWS[rel])])
    for cols in rows:
        frame, src4, dst4, src6, dst6 = int(cols[0][0]), cols[1], cols[2], cols[3], cols[4]
        if not cols[5]:
            continue  # no sampled headers in this datagram
        pairs = Counter((ip_to_int(s), ip_to_int(d)) for s, d in zip(src4 + src6, dst4 + dst6, strict=True))
        pairs[outer[frame]] -= 1  # the export datagram's own header
        for (s, d), n in pairs.items():
            if n > 0:
                theirs[(frame, s, d)] += n
    with Case.open(tmp_path / "case.duckdb") as case:
        import_capture(case, path)
        ours = Counter(case.con.execute(
            "SELECT record_pos, src_ip, dst_ip FROM flows WHERE source = 'sflow' AND src_ip IS NOT NULL").fetchall())
    ours = Counter({(f, int(s), int(d)): n for (f, s, d), n in ours.items() if f in {k[0] for k in theirs}})
    assert theirs and ours == theirs
