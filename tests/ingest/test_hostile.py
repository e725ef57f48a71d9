"""Malformed and hostile input: one line naming the file and the byte offset; nothing else is lost."""

from __future__ import annotations

import struct

import pytest

from forensics.ingest import import_paths
from forensics.readers import sniff as sniff_mod
from tests import builders as b

GOOD = [(1700000000.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1000 + i, 53, b"x" * 20))))
        for i in range(5)]


def good_pcap() -> bytes:
    return b.pcap_file(GOOD)


def rec(data: bytes, caplen: int | None = None, wirelen: int | None = None) -> bytes:
    caplen = len(data) if caplen is None else caplen
    return struct.pack("<IIII", 1700000100, 0, caplen, len(data) if wirelen is None else wirelen) + data


def offset_after(n_records: int) -> int:
    return 24 + sum(16 + len(d) for _, d in GOOD[:n_records])


def run(case, tmp_path, name: str, content: bytes):
    bad = tmp_path / name
    bad.write_bytes(content)
    ok = tmp_path / "ok.pcap"
    ok.write_bytes(good_pcap())
    summary = import_paths(case, [str(bad), str(ok)])
    results = {r.path: r for r in summary.files}
    good = results[str(ok)]
    assert good.status == "imported" and good.packets == 5  # the other file still imports
    return summary, results[str(bad)]


@pytest.mark.parametrize("name,content,what", [
    ("empty.pcap", b"", "empty file"),
    ("notes.pcap", b"This is a text file, not a capture.\n" * 3, "not a capture or flow file"),
    ("garbage.pcapng", bytes(range(256)) * 4, "not a capture or flow file"),
    ("short-header.pcap", b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", "file header is 8 bytes"),
    ("bad.gz", b"\x1f\x8b\x08\x00garbage-not-deflate" * 4, "gzip"),
])
def test_rejected_whole(case, tmp_path, name, content, what):
    summary, r = run(case, tmp_path, name, content)
    assert r.status == "rejected"
    assert summary.exit_code == 1
    assert str(tmp_path / name) in r.message and what in r.message
    assert "\n" not in r.message
    assert r.offset == 0
    assert case.con.execute("SELECT count(*) FROM captures").fetchone()[0] == 1


@pytest.mark.parametrize("name,tail,reason", [
    ("huge-record.pcap", rec(b"\x00" * 10, caplen=300000), "exceeds 262144"),
    ("past-end.pcap", rec(b"\x00" * 40, caplen=5000), "cut short"),
    ("cut-header.pcap", b"\x00" * 9, "cut short"),
])
def test_partial_keeps_what_came_before(case, tmp_path, name, tail, reason):
    summary, r = run(case, tmp_path, name, good_pcap() + tail)
    assert r.status == "partial"
    assert summary.exit_code == 1
    assert r.packets == 5
    assert r.offset == offset_after(5)
    assert f"byte offset {offset_after(5)}" in r.message and reason in r.message
    stored = case.con.execute("SELECT packets, rejected FROM captures WHERE capture_id = $c",
                              {"c": r.capture_id}).fetchone()
    assert stored[0] == 5 and reason in stored[1]


def test_zero_length_records_are_kept_and_marked_malformed(case, tmp_path):
    content = good_pcap() + rec(b"") * 3
    summary, r = run(case, tmp_path, "zero.pcap", content)
    assert r.status == "imported" and r.packets == 8 and r.malformed == 3
    assert summary.exit_code == 0


def test_gzip_bomb_is_stopped(case, tmp_path, monkeypatch):
    monkeypatch.setattr(sniff_mod, "BOMB_MIN_BYTES", 1 << 20)
    content = b.gzip_bytes(good_pcap() + b"\x00" * (8 << 20))
    summary, r = run(case, tmp_path, "bomb.pcap.gz", content)
    assert r.status in ("partial", "rejected")
    assert "gzip bomb" in r.message and "byte offset" in r.message
    assert summary.exit_code == 1


def test_truncated_gzip_keeps_packets_before(case, tmp_path):
    packets = [(1700000000.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 6, b.tcp(1, 2, b.ACK, bytes(200)))))
               for i in range(2000)]
    whole = b.gzip_bytes(b.pcap_file(packets))
    summary, r = run(case, tmp_path, "cut.pcap.gz", whole[: len(whole) // 2])
    assert r.status == "partial"
    assert 0 < r.packets < 2000
    assert "byte offset" in r.message


def test_pcapng_block_with_impossible_length(case, tmp_path):
    sec = b.Section([b.Interface(linktype=1, tsresol=6)] + [b.Packet(d, ts=t) for t, d in GOOD])
    content = b.pcapng_file([sec]) + struct.pack("<II", 6, 7) + b"\x00" * 20
    summary, r = run(case, tmp_path, "bad-block.pcapng", content)
    assert r.status == "partial" and r.packets == 5
    assert "impossible length 7" in r.message


def test_pcapng_packet_naming_missing_interface(case, tmp_path):
    sec = b.Section([b.Interface(linktype=1, tsresol=6), b.Packet(GOOD[0][1], ts=1.0),
                     b.Packet(GOOD[1][1], ts=2.0, iface=3)])
    summary, r = run(case, tmp_path, "no-iface.pcapng", b.pcapng_file([sec]))
    assert r.status == "partial" and r.packets == 1
    assert "interface 3" in r.message


def test_missing_path_is_reported(case, tmp_path):
    summary = import_paths(case, [str(tmp_path / "nope.pcap")])
    assert summary.exit_code == 1
    assert "no such file" in summary.files[0].message
