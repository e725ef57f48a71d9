"""nfcapd files read a block at a time into columns (forensics.readers.nfcapd_columns) give the records the
one-dict-a-record reader gives (forensics.readers.nfcapd.nfdump_json_record), value for value, in order.

The files: an nfcapd collector fed the export datagrams of corpus NetFlow v5/v9 and IPFIX captures (AS numbers,
next hops, routers, IPv6, ICMP and ICMPv6), and nfpcapd run on corpus captures; handwritten records cover what
those lack (an empty IPv4 field beside an IPv6 one, VLAN 0, ICMP type fields, a time with a zone, no start time).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import dpkt
import pytest
from flowcase import CORPUS

from forensics.ingest import import_paths
from forensics.readers import nfcapd, nfcapd_columns
from forensics.records import FlowColumns
from forensics.store import Case
from forensics.store.flow_table import flow_columns_table, flow_record_table, table_records

UTC = dict(os.environ, TZ="UTC")
FILES = CORPUS / "files"
EXPORTS = ["akvorado/netflow__icmp-template.pcap", "akvorado/netflow__icmp-data.pcap",
           "pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources__traffic-00.pcap",
           "pmacct/501-IPFIXv10-BGP-IPv6-CISCO-MPLS__traffic-00.pcap", "graylog-netflow/pmacctd-netflow5.pcap",
           "graylog-netflow/nprobe-netflow9.pcap", "akvorado/netflow__data+templates.pcap",
           "akvorado/netflow__mpls.pcap"]
PACKETS = ["ipfixprobe/mixed.pcap", "dpkt/dns_icmp.pcap", "tcpdump/LINKTYPE_RAW_ipv6.pcap",
           "zeek/tunnels__Teredo.pcap", "zeek/ipv6-fragmented-dns.pcap"]


def _udp_payloads(path: Path) -> list[bytes]:
    with open(path, "rb") as f:
        out = []
        for _, buf in dpkt.pcap.Reader(f):
            ip = dpkt.ethernet.Ethernet(buf).data
            if isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)) and isinstance(ip.data, dpkt.udp.UDP):
                out.append(bytes(ip.data.data))
        return out


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nfcapd_files(tmp_path_factory) -> list[Path]:
    collected = tmp_path_factory.mktemp("collector")
    port = _free_udp_port()
    collector = subprocess.Popen(["nfcapd", "-w", str(collected), "-p", str(port), "-b", "127.0.0.1", "-t", "3600"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=UTC)
    try:
        time.sleep(0.5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for name in EXPORTS:
                for payload in _udp_payloads(FILES / name):
                    s.sendto(payload, ("127.0.0.1", port))
                    time.sleep(0.002)  # (a burst overruns the collector's socket)
        time.sleep(0.5)
    finally:
        collector.terminate()
        collector.wait(timeout=20)
    files = sorted(collected.glob("nfcapd.*"))
    for i, name in enumerate(PACKETS):
        out = tmp_path_factory.mktemp(f"nfpcapd{i}")
        subprocess.run(["nfpcapd", "-r", str(FILES / name), "-w", str(out)], check=True, capture_output=True, env=UTC)
        files += sorted(out.glob("nfcapd.*"))
    assert len(files) >= len(PACKETS) + 1
    return files


def _by_dicts(path: Path) -> tuple[list[dict], int]:
    recs = list(nfcapd.read_nfcapd(str(path)))
    good = [r for r in recs if "invalid" not in r]
    return table_records(flow_record_table(good)[0]) if good else [], len(recs) - len(good)


def _by_columns(path: Path) -> tuple[list[dict], int, int]:
    """(records, invalid, blocks read as columns)"""
    out: list[dict] = []
    bad = columns = 0
    for block in nfcapd.read_nfcapd_columns(str(path)):
        if isinstance(block, FlowColumns):
            columns += 1
            out += table_records(flow_columns_table(block)[0])
        else:
            bad += sum("invalid" in r for r in block)
            good = [r for r in block if "invalid" not in r]
            out += table_records(flow_record_table(good)[0]) if good else []
    return out, bad, columns


def test_columns_give_the_records_of_the_dict_reader(nfcapd_files):
    seen = {"v6": 0, "icmp": 0, "as": 0, "next_hop": 0, "router": 0}
    for path in nfcapd_files:
        expected, expected_bad = _by_dicts(path)
        got, bad, columns = _by_columns(path)
        assert (got, bad) == (expected, expected_bad), path
        assert columns >= 1 or not expected
        for r in expected:
            seen["v6"] += r["ip_version"] == 6
            seen["icmp"] += r["ip_proto"] in (1, 58)
            seen["as"] += r["src_as"] is not None
            seen["next_hop"] += r["next_hop"] is not None
            seen["router"] += r["exporter_ip"] is not None
    assert all(seen.values()), seen  # every kind of value was compared


@pytest.mark.parametrize("block_bytes", [1, 700, 4096])
def test_any_slicing_of_nfdumps_output_gives_the_same_records(nfcapd_files, monkeypatch, block_bytes):
    path = max(nfcapd_files, key=lambda p: p.stat().st_size)
    expected = _by_dicts(path)
    monkeypatch.setattr(nfcapd, "BLOCK_BYTES", block_bytes)
    got, bad, _ = _by_columns(path)
    assert (got, bad) == expected


def test_a_block_the_columns_cannot_read_is_read_record_by_record(nfcapd_files, monkeypatch):
    path = max(nfcapd_files, key=lambda p: p.stat().st_size)
    expected = _by_dicts(path)
    monkeypatch.setattr(nfcapd, "BLOCK_BYTES", 2048)
    real = nfcapd_columns.scan_block
    calls = [0]

    def every_other(block: bytes, first_pos: int):  # noqa: ANN202
        calls[0] += 1
        return None if calls[0] % 2 else real(block, first_pos)

    monkeypatch.setattr(nfcapd_columns, "scan_block", every_other)
    got, bad, columns = _by_columns(path)
    assert (got, bad) == expected
    assert columns and columns < calls[0]  # some blocks as columns, not all


def _nfdump_text(records: list[dict]) -> bytes:
    """Records printed as `nfdump -o json` prints them: an array of tab-indented objects."""
    objects = ["{\n" + ",\n".join(f"\t{json.dumps(k)} : {json.dumps(v)}" for k, v in r.items()) + "\n}"
               for r in records]
    return ("[\n" + ",\n".join(objects) + "]\n").encode()


BASE = {"type": "FLOW", "export_sysid": 3, "first": "2024-05-01T10:00:00.250", "last": "2024-05-01T10:00:01.999",
        "in_packets": 5, "in_bytes": 700, "proto": 6, "tcp_flags": "...AP.S.", "src_port": 40000, "dst_port": 443,
        "src_tos": 0, "src4_addr": "10.1.2.3", "dst4_addr": "192.0.2.200", "input_snmp": 7, "output_snmp": 9,
        "direction": 1, "ip4_router": "198.51.100.1", "label": "<none>"}


def _handwritten() -> list[dict]:
    v6 = {k: v for k, v in BASE.items() if k not in ("src4_addr", "dst4_addr")}
    return [
        BASE,
        {**v6, "src6_addr": "2001:db8::1", "dst6_addr": "2001:db8:0:0:0:0:0:2", "src4_addr": ""},
        {**BASE, "proto": 1, "dst_port": 3 * 256 + 1, "tcp_flags": "........"},  # ICMP from the port
        {**v6, "proto": 58, "icmp_type": 128, "icmp_code": 0, "src6_addr": "fe80::1", "dst6_addr": "ff02::1"},
        {**BASE, "src_vlan": 0, "src_as": 64512, "dst_as": 0, "ip4_next_hop": "0.0.0.0"},
        {**BASE, "src_vlan": 42, "ip6_next_hop": "2001:db8::ff", "ip4_router": "", "ip6_router": "2001:db8::fe"},
        {**BASE, "src4_addr": "010.1.2.3", "dst4_addr": "not an address"},  # no leading zeros: no address
        {k: v for k, v in BASE.items() if k not in ("last", "in_packets", "in_bytes", "tcp_flags")},
        {**BASE, "first": "2024-05-01T10:00:00Z", "last": "2024-05-01 10:00:02.5+01:00"},  # zones: Python's reading
        {k: v for k, v in BASE.items() if k != "first"},  # no start time: not a record
        {**BASE, "first": "yesterday"},
    ]


REGULAR = 8  # the first eight handwritten records are what the scan reads itself


def test_handwritten_records_read_as_the_dict_reader_reads_them():
    for i, record in enumerate(_handwritten(), 1):
        text = _nfdump_text([record])
        try:
            want = [nfcapd.nfdump_json_record(record, i)]
        except (ValueError, KeyError):
            want = [{"invalid": "bad_nfdump_record"}]
        cols = nfcapd_columns.scan_block(text, i)
        assert (cols is not None) == (i <= REGULAR), record
        if cols is None:  # the import reads it record by record
            assert list(nfcapd._block_records(text, i - 1)) == want
        else:
            assert table_records(flow_columns_table(cols)[0]) == table_records(flow_record_table(want)[0])


def test_many_records_in_one_slice_keep_their_order_and_numbers():
    records = _handwritten()[:REGULAR] * 40
    cols = nfcapd_columns.scan_block(_nfdump_text(records), 11)
    assert cols is not None and cols.rows == len(records)
    got = table_records(flow_columns_table(cols)[0])
    assert got == table_records(flow_record_table([nfcapd.nfdump_json_record(r, i)
                                                   for i, r in enumerate(records, 11)])[0])


@pytest.mark.parametrize("text", [
    b'[\n{\n\t"first" : "2024-05-01T10:00:00.250",\n\t"label" : "a \\"quoted\\" label"\n}]',  # an escape
    b'{"first" : "2024-05-01T10:00:00.250", "tcp_flags" : 27}',  # flags as a number
    b'{"first" : "2024-05-01T10:00:00.250", "in_bytes" : -1}',
    b'{"first" : "2024-05-01T10:00:00.250", "in_bytes" : 1.5}',
    b'{"first" : "2024-05-01T10:00:00.250", "proto" : null}',
    b'{"first" : "2024-05-01T10:00:00.250", "mpls" : [1, 2]}',
    b'{"first" : "2024-05-01T10:00:00.250", "label" : tru}',
    b'{"first" : "2024-05-01T10:00:00.250", "proto" : 6 "src_port" : 1}',
    b'{"first" : "2024-05-01T10:00:00.25"}',
    b'{"last" : "2024-05-01T10:00:00.250"}',
    b'{"first" : "2024-02-30T10:00:00.250"}',
])
def test_what_the_scan_does_not_read_is_left_to_the_dict_reader(text):
    assert nfcapd_columns.scan_block(text, 1) is None


def test_the_scan_skips_the_values_of_keys_it_does_not_read():
    text = (b'{"first" : "2024-05-01T10:00:00.250", "a" : -0.5e+3, "b" : true, "c" : false, "d" : null, '
            b'"e" : "", "proto" : 17}')
    cols = nfcapd_columns.scan_block(text, 1)
    assert cols is not None and cols.values["ip_proto"].tolist() == [17]


def test_an_nfcapd_import_stores_the_dict_readers_records(tmp_path, nfcapd_files):
    path = max(nfcapd_files, key=lambda p: p.stat().st_size)
    expected, _ = _by_dicts(path)
    with Case.open(tmp_path / "case") as case:
        summary = import_paths(case, [str(path)])
        assert [f.status for f in summary.files] == ["imported"]
        stored = case.con.execute(
            "SELECT record_pos, epoch_us(first_ts), epoch_us(last_ts), src_ip, dst_ip, ip_proto, src_port, dst_port, "
            "icmp_type, icmp_code, tcp_flags, packets, bytes, in_if, out_if, src_as, dst_as, next_hop, exporter_ip, "
            "vlan FROM flows ORDER BY record_pos").fetchall()
    want = [(r["record_pos"], r["first_ts_us"], r["last_ts_us"], r["src_ip"], r["dst_ip"], r["ip_proto"],
             r["src_port"], r["dst_port"], r["icmp_type"], r["icmp_code"], r["tcp_flags"], r["packets"], r["bytes"],
             r["in_if"], r["out_if"], r["src_as"], r["dst_as"], r["next_hop"], r["exporter_ip"], r["vlan"])
            for r in expected]
    assert stored == want
