"""Damaged application payloads are counted per table and never stop an import; fuzzed payloads never raise."""

from __future__ import annotations

import random
from pathlib import Path

from builders import eth, ipv4, pcap_file, tcp, udp

from forensics.appdata import Candidate, extract
from forensics.appdata.extract import TABLES
from forensics.appdata.records import read_frames, transport_payload
from forensics.ingest import ImportOptions, import_paths
from tests.conftest import CORPUS

QUERY = (b"\x43\x19\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07tcpdump\x03org\x00\x00\x01\x00\x01")


def _frame(payload: bytes, sport: int = 33000, dport: int = 53) -> bytes:
    return eth(0x0800, ipv4("10.1.3.77", "198.51.100.53", 17, udp(sport, dport, payload)))


def test_mutated_dns_counted_and_import_goes_on(case, tmp_path):
    cut = QUERY[:20]  # the question name runs past the end
    loop = QUERY[:12] + b"\xc0\x0c" + QUERY[-4:]  # a compression pointer to itself
    pcap = tmp_path / "dns.pcap"
    pcap.write_bytes(pcap_file([(1.0, _frame(QUERY)), (2.0, _frame(cut)), (3.0, _frame(loop)),
                                (4.0, _frame(QUERY, 33001, 5300))]))
    summary = import_paths(case, [str(pcap)], ImportOptions(workers=1))
    assert summary.exit_code == 0 and summary.files[0].packets == 4
    rows = case.con.execute("SELECT frame, qname, dst_port, service FROM dns ORDER BY frame").fetchall()
    # frame 4: DNS to a resolver on port 5300, recognised by its header
    assert rows == [(1, "www.tcpdump.org", 53, "dns"), (4, "www.tcpdump.org", 5300, "dns")]
    counts = dict(case.con.execute("SELECT table_name, malformed FROM appdata_counts").fetchall())
    assert counts["dns"] == 2 and counts["tls"] == 0


def test_cut_tls_hello_is_not_a_row(case, tmp_path):
    hello = b"\x16\x03\x01\x00\x40\x01\x00\x00\x3c\x03\x03" + b"\x00" * 10  # announces 60 bytes, has 10
    frame = eth(0x0800, ipv4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 443, 0x18, hello)))
    pcap = tmp_path / "tls.pcap"
    pcap.write_bytes(pcap_file([(1.0, frame)]))
    assert import_paths(case, [str(pcap)], ImportOptions(workers=1)).exit_code == 0
    assert case.con.execute("SELECT count(*) FROM tls").fetchone()[0] == 0


def _corpus_payloads(rel: str, limit: int = 400) -> list[Candidate]:
    import dpkt

    out = []
    path = CORPUS / "files" / rel
    with open(path, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            try:
                ip = dpkt.ethernet.Ethernet(buf).data
                seg = ip.data
                out.append(Candidate(len(out) + 1, ip.p, seg.sport, seg.dport, bytes(seg.data)))
            except (AttributeError, dpkt.UnpackError):
                continue
            if len(out) >= limit:
                break
    return out


def test_fuzzed_and_truncated_payloads_never_raise():
    rng = random.Random(15)
    seeds = []
    for rel in ("zeek/dns53.pcap", "nDPI/1kxun.pcap", "zeek/dhcp__dhcp.pcap", "zeek/ntp__ntp.pcap", "nDPI/smtp.pcap",
                "tcpdump/dhcpv6-ia-na.pcap", "ipfixprobe/mixed.pcap"):
        seeds += [c for c in _corpus_payloads(rel) if c.payload]
    assert len(seeds) > 100
    for c in seeds:
        p = c.payload
        variants = [p[:k] for k in range(0, len(p), max(1, len(p) // 17))]
        for _ in range(8):
            b = bytearray(p)
            for _ in range(rng.randint(1, 6)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            variants.append(bytes(b))
        for v in variants:
            got = extract([Candidate(c.frame, c.ip_proto, c.src_port, c.dst_port, v)])
            assert sum(len(t) for t in got.tables.values()) + sum(got.malformed.values()) <= 4


def test_damaged_smtp_counted_and_import_goes_on(case, tmp_path):
    a, b = "10.0.0.1", "10.0.0.2"
    lines = [b"220 mx.example.org ESMTP\r\n", b"MAIL <x@example.org>\r\n", b"999 what\r\n",
             b"RCPT TO:<y@example.org>\r\n"]
    frames = [eth(0x0800, ipv4(a, b, 6, tcp(40000, 25, 0x18, line, seq=1 + 100 * k, src=a, dst=b)))
              for k, line in enumerate(lines)]
    pcap = tmp_path / "smtp.pcap"
    pcap.write_bytes(pcap_file([(1.0 + k, f) for k, f in enumerate(frames)]))
    assert import_paths(case, [str(pcap)], ImportOptions(workers=1)).exit_code == 0
    assert case.con.execute("SELECT frame, reply_code, rcpt_to FROM smtp ORDER BY frame").fetchall() == [
        (1, 220, None), (4, None, "y@example.org")]
    assert case.con.execute("SELECT rows, malformed FROM appdata_counts WHERE table_name = 'smtp'").fetchone() \
        == (2, 2)


def test_read_back_payload_equals_dpkt():
    import dpkt

    rel = "tcpdump/dns_tcp.pcap"
    path = CORPUS / "files" / rel
    refs, expected = [], []
    with open(path, "rb") as f:
        offset = 24
        for _ts, buf in dpkt.pcap.Reader(f):
            refs.append((offset, len(buf)))
            ip = dpkt.ethernet.Ethernet(buf).data
            expected.append(bytes(ip.data.data))
            offset += 16 + len(buf)
    frames = list(read_frames(str(Path(path)), "pcap-le-usec", refs))
    got = [transport_payload(1, d, len(d), 6, None) for d in frames]
    assert got == expected


def test_payload_cut_by_snaplen_is_truncated_not_malformed(case, tmp_path):
    whole = _frame(QUERY)
    pcap = tmp_path / "snap.pcap"
    pcap.write_bytes(pcap_file([(1.0, whole[:60], len(whole))]))
    assert import_paths(case, [str(pcap)], ImportOptions(workers=1)).exit_code == 0
    assert case.con.execute("SELECT malformed, truncated FROM appdata_counts WHERE table_name = 'dns'").fetchone() \
        == (0, 1)


def test_force_reimport_replaces_the_rows(case, tmp_path):
    pcap = tmp_path / "dns.pcap"
    pcap.write_bytes(pcap_file([(1.0, _frame(QUERY))]))
    import_paths(case, [str(pcap)], ImportOptions(workers=1))
    import_paths(case, [str(pcap)], ImportOptions(workers=1, force=True))
    assert case.con.execute("SELECT count(*), count(DISTINCT capture_id) FROM dns").fetchone() == (1, 1)
    assert case.con.execute("SELECT count(*) FROM appdata_counts").fetchone()[0] == len(TABLES)


def test_a_case_made_before_the_tables_opens_read_only(tmp_path):
    import duckdb

    from forensics.store import Case

    path = tmp_path / "old.duckdb"
    Case.open(path).close()
    con = duckdb.connect(str(path))
    for table in (*TABLES, "appdata_counts"):
        con.execute(f"DROP TABLE {table}")
    con.close()
    with Case.open(path, read_only=True) as case:
        assert case.con.execute("SELECT count(*) FROM packets").fetchone() == (0,)
    with Case.open(path) as case:  # a write-open (the next import) adds them
        assert case.con.execute("SELECT count(*) FROM dns").fetchone() == (0,)
