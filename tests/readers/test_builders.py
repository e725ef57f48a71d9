"""tests/builders.py checked by tshark: checksums are valid, and capture files read back with the
times, lengths, interfaces and link types that were written."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from builders import (  # noqa: E402
    ACK,
    NS,
    SYN,
    CustomBlock,
    Interface,
    Packet,
    RawBlock,
    Section,
    eth,
    ext_frag,
    gre,
    gzip_bytes,
    icmp,
    icmp6,
    ipv4,
    ipv6,
    null_loop,
    pcap_file,
    pcapng_file,
    sctp,
    sctp_chunk,
    sll,
    tcp,
    udp,
)

CHECKSUM_PREFS = ["ip.check_checksum:TRUE", "tcp.check_checksum:TRUE", "udp.check_checksum:TRUE",
                  "udplite.check_checksum:TRUE", "sctp.checksum:CRC-32C"]


def tshark(path: Path, fields: list[str], prefs: list[str] = ()) -> list[dict[str, str]]:
    exe = shutil.which("tshark")
    assert exe, "tshark is required for the oracle tests (Debian package tshark)"
    cmd = [exe, "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t"]
    for pref in prefs:
        cmd += ["-o", pref]
    for name in fields:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [dict(zip(fields, line.split("\t"), strict=True)) for line in out.stdout.splitlines()]


def epoch_ns(text: str) -> int:
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


S4, D4, S6, D6 = "192.0.2.1", "198.51.100.2", "2001:db8::1", "2001:db8::2"


@pytest.mark.oracle
def test_checksums_are_valid(tmp_path):
    frames = [
        (eth(0x0800, ipv4(S4, D4, 6, tcp(1, 2, SYN | NS, b"x", options=b"\x02\x04\x05\xb4", src=S4, dst=D4),
                          options=b"\x01\x01\x01\x00")), ["ip", "tcp"]),
        (eth(0x0800, ipv4(S4, D4, 17, udp(3, 4, b"abc", src=S4, dst=D4))), ["ip", "udp"]),
        (eth(0x0800, ipv4(S4, D4, 136, udp(3, 4, b"abc", lite=True, src=S4, dst=D4))), ["ip", "udp"]),
        (eth(0x0800, ipv4(S4, D4, 1, icmp(8, 0, b"ping", rest=0x00010002))), ["ip", "icmp"]),
        (eth(0x0800, ipv4(S4, D4, 132, sctp(5, 6, sctp_chunk(4, b"\x00\x01\x00\x08abcd"), vtag=9))),
         ["ip", "sctp"]),
        (eth(0x0800, ipv4(S4, D4, 47, gre(0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2)), checksum=True,
                                          key=1, seq=2))), ["ip", "gre"]),
        (eth(0x86DD, ipv6(S6, D6, 6, tcp(7, 8, ACK, b"yz", src=S6, dst=D6))), ["tcp"]),
        (eth(0x86DD, ipv6(S6, D6, 17, udp(9, 10, b"q", src=S6, dst=D6))), ["udp"]),
        (eth(0x86DD, ipv6(S6, D6, 58, icmp6(128, 0, b"\x00\x01\x00\x01", src=S6, dst=D6), ext=[(60, b"")])),
         ["icmpv6"]),
    ]
    path = tmp_path / "sums.pcap"
    path.write_bytes(pcap_file([(1.0 + i, f) for i, (f, _) in enumerate(frames)]))
    fields = ["ip.checksum.status", "tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status",
              "sctp.checksum.status", "gre.checksum.status", "icmpv6.checksum.status", "_ws.malformed"]
    rows = tshark(path, fields, CHECKSUM_PREFS)
    assert len(rows) == len(frames)
    for i, (row, (_, protos)) in enumerate(zip(rows, frames, strict=True)):
        assert row["_ws.malformed"] == "", i
        for proto in protos:
            assert row[f"{proto}.checksum.status"] == "1", (i, proto, row)  # 1 = Good


@pytest.mark.oracle
@pytest.mark.parametrize("nano", [False, True])
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcap_file_reads_back(tmp_path, nano, big_endian):
    ns = 1_700_000_000_123_456_789
    frame = sll(0x0800, ipv4(S4, D4, 17, udp(1, 2, b"0123456789")))
    records = [(ns, frame), (1.5, frame[:20], len(frame)), (ns + 1000, frame, None)]
    path = tmp_path / "f.pcap"
    path.write_bytes(pcap_file(records, linktype=113, nano=nano, big_endian=big_endian, snaplen=1000))
    rows = tshark(path, ["frame.time_epoch", "frame.cap_len", "frame.len", "frame.protocols"])
    unit = 1 if nano else 1000
    assert [epoch_ns(r["frame.time_epoch"]) for r in rows] == [ns // unit * unit, 1_500_000_000,
                                                              (ns + 1000) // unit * unit]
    assert [(int(r["frame.cap_len"]), int(r["frame.len"])) for r in rows] == [
        (len(frame), len(frame)), (20, len(frame)), (len(frame), len(frame))]
    assert all(r["frame.protocols"].startswith("sll:ethertype:ip") for r in rows)
    magic = path.read_bytes()[:4]
    assert magic == bytes.fromhex({(False, False): "d4c3b2a1", (True, False): "4d3cb2a1",
                                   (False, True): "a1b2c3d4", (True, True): "a1b23c4d"}[(nano, big_endian)])


@pytest.mark.oracle
def test_pcapng_sections_interfaces_and_block_kinds(tmp_path):
    ns = 1_700_000_000_123_456_789
    v4 = ipv4(S4, D4, 6, tcp(1, 2, SYN))
    frame = eth(0x0800, v4)
    v6 = ipv6(S6, D6, 17, udp(1, 2, b"frag"), ext=[ext_frag(0, True, 5)])
    first = Section([
        Interface(1, tsresol=9, name="eth0"),
        Interface(101, tsresol=0x80 | 20, name="raw-2^-20"),
        Interface(0, tsresol=3),
        Packet(frame, ts=ns, iface=0),
        CustomBlock(b"custom data"),
        RawBlock(0x0000ABCD, b"unknown block type"),
        Packet(v4, ts=ns, iface=1, kind="obsolete"),
        Packet(null_loop(2, v4), ts=2.25, iface=2, options=[(2, (1).to_bytes(4, "little"))]),
        Packet(frame, kind="spb"),
    ])
    second = Section([
        Interface(113, tsresol=6, name="any"),
        Interface(1),
        CustomBlock(b"not copied", copyable=False),
        Packet(sll(0x86DD, v6), ts=ns, iface=0, wirelen=len(sll(0x86DD, v6)) + 100),
        Packet(frame[:20], ts=3.0, iface=1, wirelen=len(frame)),
    ], big_endian=True, section_length_unknown=True)
    path = tmp_path / "f.pcapng"
    path.write_bytes(pcapng_file([first, second]))
    rows = tshark(path, ["frame.protocols", "frame.interface_name", "frame.time_epoch", "frame.cap_len",
                         "frame.len", "ip.src", "ipv6.src"])
    # tshark 4.0 lists custom blocks as frames of bare data (12 bytes here: "custom data" padded, or
    # "not copied" padded), and skips the unknown block
    custom = [r for r in rows if r["frame.protocols"] == "data"]
    packets = [r for r in rows if r["frame.protocols"] != "data"]
    assert [int(r["frame.cap_len"]) for r in custom] == [12, 12]
    # interface names of the first section (tshark 4.0 looks second-section ids up in the first's list)
    assert [r["frame.interface_name"] for r in packets[:4]] == ["eth0", "raw-2^-20", "unknown", "eth0"]
    assert [r["frame.protocols"].split(":")[0] for r in packets] == ["eth", "raw", "null", "eth", "sll", "eth"]
    assert packets[3]["frame.time_epoch"] == ""  # a simple packet block has no time
    times = [epoch_ns(r["frame.time_epoch"]) if i != 3 else None for i, r in enumerate(packets)]
    assert times[0] == ns
    assert abs(times[1] - ns) < 1000  # 2^-20 s units: within a microsecond
    assert times[2] == 2_250_000_000
    assert times[4] == ns // 1000 * 1000
    assert times[5] == 3_000_000_000
    assert [(int(r["frame.cap_len"]), int(r["frame.len"])) for r in packets] == [
        (len(frame), len(frame)), (len(v4), len(v4)), (len(v4) + 4, len(v4) + 4), (len(frame), len(frame)),
        (len(v6) + 16, len(v6) + 116), (20, len(frame))]
    assert [r["ip.src"] or r["ipv6.src"] for r in packets] == [S4, S4, S4, S4, S6, ""]
    raw = path.read_bytes()
    assert raw[8:12] == bytes.fromhex("4d3c2b1a")  # little-endian first section
    second_at = len(first.encode())
    assert raw[second_at + 8:second_at + 12] == bytes.fromhex("1a2b3c4d")
    assert raw[second_at + 16:second_at + 24] == b"\xff" * 8  # section length -1


@pytest.mark.oracle
def test_gzip_bytes_is_deterministic_and_readable(tmp_path):
    data = pcap_file([(1.0, eth(0x0800, ipv4(S4, D4, 6, tcp(1, 2, SYN))))] * 3)
    packed = gzip_bytes(data)
    assert packed == gzip_bytes(data)
    assert gzip.decompress(packed) == data
    path = tmp_path / "f.pcap.gz"
    path.write_bytes(packed)
    assert len(tshark(path, ["frame.number"])) == 3
