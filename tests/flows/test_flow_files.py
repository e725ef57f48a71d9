"""Flow files: nfcapd (through nfdump), nfdump CSV, Zeek conn.log (TSV and JSON), Suricata EVE; sniffing."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

import pytest
from flowcase import CORPUS, import_file

import forensics.readers.nfcapd as nfcapd_mod
from forensics.errors import InputError
from forensics.ingest import import_paths
from forensics.netaddr import int_to_ip, ip_to_int
from forensics.readers.flowfiles import sniff_flow_file
from forensics.store import Case

PCAP = CORPUS / "files/ipfixprobe/mixed.pcap"
UTC = dict(os.environ, TZ="UTC")


@pytest.fixture(scope="module")
def nfcapd_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nfcapd")
    subprocess.run(["nfpcapd", "-r", str(PCAP), "-w", str(out)], check=True, capture_output=True, env=UTC)
    assert list(out.glob("nfcapd.*"))
    return out


def nfdump_summary(args: list[str]) -> dict:
    """nfdump's own totals (the 'Summary' lines of its CSV output): flows, bytes, packets."""
    out = subprocess.run(["nfdump", *args, "-o", "csv"], check=True, capture_output=True, text=True, env=UTC).stdout
    lines = out.splitlines()
    i = lines.index("Summary")
    return {k: int(v) for k, v in zip(lines[i + 1].split(","), lines[i + 2].split(","), strict=True)
            if k in ("flows", "bytes", "packets")}


def totals(case: Case) -> dict:
    flows, packets, bytes_ = case.con.execute("SELECT count(*), sum(packets), sum(bytes) FROM flows").fetchone()
    return {"flows": flows, "packets": int(packets), "bytes": int(bytes_)}


KEY = ("SELECT src_ip, dst_ip, src_port, dst_port, ip_proto, icmp_type, icmp_code, packets, "
       "bytes, epoch(date_trunc('second', first_ts)) FROM flows ORDER BY ALL")


def test_nfcapd_and_nfdump_csv_agree_with_nfdump(tmp_path, nfcapd_dir):
    files = sorted(nfcapd_dir.glob("nfcapd.*"))
    with Case.open(tmp_path / "a.duckdb") as case:
        for f in files:
            assert sniff_flow_file(str(f), f.read_bytes()[:4096]) == "nfcapd"
            import_file(case, f, "nfcapd")
        assert totals(case) == nfdump_summary(["-R", str(nfcapd_dir)])
        assert case.con.execute("SELECT DISTINCT source FROM flows").fetchall() == [("nfcapd",)]
        from_nfcapd = case.con.execute(KEY).fetchall()
    csv_path = tmp_path / "flows.csv"
    csv_path.write_bytes(subprocess.run(["nfdump", "-R", str(nfcapd_dir), "-o", "csv"], check=True,
                                        capture_output=True, env=UTC).stdout)
    assert sniff_flow_file(str(csv_path), csv_path.read_bytes()[:4096]) == "nfdump-csv"
    with Case.open(tmp_path / "b.duckdb") as case:
        stats = import_file(case, csv_path, "nfdump-csv")
        assert stats["invalid"] == {}
        assert totals(case) == nfdump_summary(["-R", str(nfcapd_dir)])
        from_csv = case.con.execute(KEY).fetchall()
        positions = [r[0] for r in case.con.execute("SELECT record_pos FROM flows ORDER BY flow_id").fetchall()]
    assert from_csv == from_nfcapd
    assert positions == list(range(2, 2 + len(positions)))  # line numbers after the header line
    icmp = [r for r in from_csv if r[4] in (1, 58)]
    assert icmp and all(r[2] == r[3] == 0 and r[5] is not None for r in icmp)


def test_nfcapd_without_nfdump_says_how_to_install(tmp_path, nfcapd_dir, monkeypatch):
    monkeypatch.setattr(nfcapd_mod.shutil, "which", lambda name: None)
    f = sorted(nfcapd_dir.glob("nfcapd.*"))[0]
    with Case.open(tmp_path / "c.duckdb") as case, pytest.raises(InputError) as err:
        import_file(case, f, "nfcapd")
    msg = str(err.value)
    assert "\n" not in msg and "apt-get install nfdump" in msg


def test_nfcapd_damaged_file_is_an_input_error(tmp_path):
    bad = tmp_path / "nfcapd.bad"
    bad.write_bytes(b"\x0c\xa5\x02\x00" + b"\xff" * 200)
    assert sniff_flow_file(str(bad), bad.read_bytes()) == "nfcapd"
    with Case.open(tmp_path / "d.duckdb") as case, pytest.raises(InputError) as err:
        import_file(case, bad, "nfcapd")
    assert str(bad) in str(err.value)


ZEEK_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
               "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
               "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"]
ZEEK_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
              "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]"]
# (ts, orig, orig_p, resp, resp_p, proto, duration, orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes)
ZEEK_CONNS = [
    ("1300475167.096535", "141.142.220.202", 5353, "224.0.0.251", 5353, "udp", None, 1, 73, 0, 0),
    ("1300475168.853899", "141.142.220.118", 43927, "141.142.2.2", 53, "udp", "0.000435", 1, 66, 1, 89),
    ("1300475169.780331", "fe80::217:f2ff:fed7:cf65", 49153, "2001:db8::1", 80, "tcp", "1.500000", 6, 480, 5, 5400),
    ("1300475170.000001", "10.0.0.1", 8, "10.0.0.2", 0, "icmp", "0.100000", 2, 168, 2, 168),
]


def zeek_rows() -> list[dict]:
    rows = []
    for i, (ts, o, op, r, rp, proto, dur, opk, oby, rpk, rby) in enumerate(ZEEK_CONNS):
        rows.append(dict(zip(ZEEK_FIELDS, [ts, f"C{i}x", o, op, r, rp, proto, "-", dur, 0, 0, "SF", "-", "-", 0,
                                           "Dd", opk, oby, rpk, rby, None], strict=True)))
    return rows


def expected_zeek() -> list[tuple]:
    out = []
    for ts, o, op, r, rp, proto, dur, opk, oby, rpk, rby in ZEEK_CONNS:
        first = round(float(ts) * 1e6)
        last = first + (round(float(dur) * 1e6) if dur else 0)
        icmp = proto == "icmp"
        out.append((ip_to_int(o), ip_to_int(r), 0 if icmp else op, 0 if icmp else rp, opk, oby, first, last,
                    op if icmp else None))
        if rpk:
            out.append((ip_to_int(r), ip_to_int(o), 0 if icmp else rp, 0 if icmp else op, rpk, rby, first, last,
                        None))
    return sorted(out)


ZEEK_QUERY = ("SELECT src_ip, dst_ip, src_port, dst_port, packets, bytes, epoch_us(first_ts), epoch_us(last_ts), "
              "icmp_type FROM flows ORDER BY ALL")


def test_zeek_tsv(tmp_path):
    lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn",
             "#open\t2011-03-18-19-06-08", "#fields\t" + "\t".join(ZEEK_FIELDS), "#types\t" + "\t".join(ZEEK_TYPES)]
    for row in zeek_rows():
        lines.append("\t".join("(empty)" if v is None and k == "tunnel_parents" else "-" if v is None else str(v)
                               for k, v in row.items()))
    lines.append("#close\t2011-03-18-19-06-13")
    path = tmp_path / "conn.log.gz"  # gzip-compressed, as Zeek rotates them
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert sniff_flow_file(str(path), path.read_bytes()[:4096]) == "zeek-tsv"
    with Case.open(tmp_path / "z.duckdb") as case:
        stats = import_file(case, path, "zeek-tsv")
        assert stats["invalid"] == {}
        assert case.con.execute(ZEEK_QUERY).fetchall() == expected_zeek()
        assert case.con.execute("SELECT DISTINCT source FROM flows").fetchall() == [("zeek",)]
        # record_pos is the line number: the first connection is on line 9
        assert case.con.execute("SELECT min(record_pos) FROM flows").fetchone()[0] == 9


def test_zeek_json(tmp_path):
    path = tmp_path / "conn.json"
    lines = []
    for row in zeek_rows():
        row = {k: v for k, v in row.items() if v is not None and v != "-"}
        row["ts"] = float(row["ts"])
        if "duration" in row:
            row["duration"] = float(row["duration"])
        lines.append(json.dumps(row))
    lines.insert(2, "{not json")
    path.write_text("\n".join(lines) + "\n")
    assert sniff_flow_file(str(path), path.read_bytes()[:4096]) == "zeek-json"
    with Case.open(tmp_path / "zj.duckdb") as case:
        stats = import_file(case, path, "zeek-json")
        assert stats["invalid"] == {"bad_json_line": 1}
        assert case.con.execute(ZEEK_QUERY).fetchall() == expected_zeek()


def test_suricata_eve(tmp_path):
    flow = {"timestamp": "2009-11-24T21:27:09.534255+0100", "flow_id": 1, "event_type": "flow",
            "src_ip": "192.168.2.7", "src_port": 1041, "dest_ip": "x.x.x.x", "dest_port": 80, "proto": "TCP",
            "flow": {"pkts_toserver": 5, "pkts_toclient": 4, "bytes_toserver": 400, "bytes_toclient": 3000,
                     "start": "2009-11-24T21:27:09.534255+0100", "end": "2009-11-24T21:27:12.000000+0100",
                     "age": 3, "state": "closed", "reason": "timeout", "alerted": False},
            "tcp": {"tcp_flags": "1b", "tcp_flags_ts": "1b", "tcp_flags_tc": "1a"}}
    flow["dest_ip"] = "192.168.2.1"
    netflow = {"timestamp": "2009-11-24T21:27:09.534255+0100", "event_type": "netflow", "src_ip": "2001:db8::7",
               "src_port": 0, "dest_ip": "2001:db8::1", "dest_port": 0, "proto": "IPv6-ICMP", "icmp_type": 128,
               "icmp_code": 0, "vlan": [30],
               "netflow": {"pkts": 3, "bytes": 354, "start": "2009-11-24T20:27:09.000000Z",
                           "end": "2009-11-24T20:27:11.000000Z", "age": 2, "min_ttl": 64, "max_ttl": 64}}
    alert = {"timestamp": "2009-11-24T21:27:09.534255+0100", "event_type": "alert", "src_ip": "1.1.1.1"}
    path = tmp_path / "eve.json"
    path.write_text("\n".join(json.dumps(e) for e in (alert, flow, netflow)) + "\n")
    assert sniff_flow_file(str(path), path.read_bytes()[:4096]) == "suricata-eve"
    with Case.open(tmp_path / "s.duckdb") as case:
        stats = import_file(case, path, "suricata-eve")
        assert stats["flow_records"] == 3 and stats["invalid"] == {}
        rows = case.con.execute(
            "SELECT record_pos, src_ip, dst_ip, src_port, dst_port, ip_proto, packets, bytes, "
            "tcp_flags, icmp_type, vlan, strftime(first_ts, '%H:%M:%S.%f'), strftime(last_ts, '%H:%M:%S') "
            "FROM flows ORDER BY flow_id").fetchall()
    rows = [(r[0], int_to_ip(int(r[1])), int_to_ip(int(r[2])), *r[3:]) for r in rows]
    assert rows == [
        (2, "192.168.2.7", "192.168.2.1", 1041, 80, 6, 5, 400, 0x1B, None, None, "20:27:09.534255", "20:27:12"),
        (2, "192.168.2.1", "192.168.2.7", 80, 1041, 6, 4, 3000, 0x1A, None, None, "20:27:09.534255", "20:27:12"),
        (3, "2001:db8::7", "2001:db8::1", 0, 0, 58, 3, 354, None, 128, 30, "20:27:09.000000", "20:27:11"),
    ]


def test_sniffing_rejects_other_files(tmp_path):
    assert sniff_flow_file("x", b'{"a": 1}\n') is None
    assert sniff_flow_file("x", b"hello world\n") is None
    assert sniff_flow_file("x", b"\x00\x05\x00\x01" + b"\x00" * 10) is None
    pcap = (CORPUS / "files/graylog-netflow/netflow5.pcap").read_bytes()[:4096]
    assert sniff_flow_file("x", pcap) is None


@pytest.mark.parametrize("codec", ["gzip", "zstd", "xz"])
def test_compressed_nfcapd_reads_as_the_plain_file(tmp_path, nfcapd_dir, codec):
    """nfdump reads files: a compressed nfcapd goes through a private temporary copy, decompressed with the
    bomb guard, and gives the plain file's flows; a cut one is a truncation naming the file."""
    from tests.readers.test_compressed import COMPRESS

    plain = sorted(nfcapd_dir.glob("nfcapd.*"))
    packed = []
    for f in plain:
        p = tmp_path / f"{f.name}.{codec}"
        p.write_bytes(COMPRESS[codec](f.read_bytes()))
        packed.append(p)
    rows = []
    for i, files in enumerate((plain, packed)):
        with Case.open(tmp_path / f"n{i}.duckdb") as case:
            summary = import_paths(case, [str(f) for f in files])
            assert summary.exit_code == 0 and {r.format for r in summary.files} == {"nfcapd" + ("+" + codec) * i}
            rows.append(case.con.execute(KEY).fetchall())
    assert rows[0] == rows[1] and rows[0]
    cut = tmp_path / f"cut.{codec}"
    cut.write_bytes(packed[0].read_bytes()[:-9])
    with Case.open(tmp_path / "cut.duckdb") as case:
        (r,) = import_paths(case, [str(cut)]).files
    assert r.status == "rejected" and str(cut) in r.message, r.message  # whole blocks only: perhaps none
    assert "compressed data ends" in r.message or "cannot be decompressed" in r.message, r.message
