"""Carving from sources built byte by byte: every pcapng packet block kind, big-endian pcap in nanoseconds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from carve_helpers import tcpdump_write

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builders import (  # noqa: E402
    ETH_IPV4,
    SYN,
    Interface,
    Packet,
    Section,
    eth,
    ipv4,
    pcap_file,
    pcapng_file,
    tcp,
    udp,
)

from forensics.carve import carve, select_packets  # noqa: E402

pytestmark = pytest.mark.oracle


def _frames(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        seg = tcp(1000 + i, 80, SYN) if i % 2 else udp(2000 + i, 53, b"q" * i)
        out.append(eth(ETH_IPV4, ipv4("10.0.0.1", "10.0.0.2", 6 if i % 2 else 17, seg)))
    return out


def _import(tmp_path, name: str, data: bytes):
    from forensics.ingest import import_paths
    from forensics.store import Case

    path = tmp_path / name
    path.write_bytes(data)
    case = Case.open(tmp_path / f"{name}.duckdb")
    summary = import_paths(case, [str(path)])
    assert summary.files[0].status == "imported", summary.files[0]
    return case, path


@pytest.mark.parametrize("kind", ["epb", "spb", "obsolete"])
@pytest.mark.parametrize("big_endian", [False, True])
def test_pcapng_block_kinds(tmp_path, kind, big_endian):
    frames = _frames(6)
    t0 = 1_700_000_000_123_456_789  # ns
    iface = Interface(linktype=1, snaplen=0 if kind != "spb" else 65535, tsresol=9, name="eth0")
    packets = [Packet(f, ts=t0 + i * 1_000_001, kind=kind) for i, f in enumerate(frames)]
    data = pcapng_file([Section([iface, *packets], big_endian=big_endian)])
    case, src = _import(tmp_path, "src.pcapng", data)
    with case:
        refs = select_packets(case.con)
        assert len(refs) == len(frames)
        for pcapng in (False, True):
            out = tmp_path / ("out.pcapng" if pcapng else "out.pcap")
            carve(case.con, refs, out, pcapng=pcapng)
            want = tcpdump_write(src, tmp_path / "want.pcap")
            got = tcpdump_write(out, tmp_path / "got.pcap")
            assert got[24:] == want[24:], (kind, big_endian, pcapng)
            assert tcpdump_ns(out) == tcpdump_ns(src)  # nanosecond times kept


def test_big_endian_nanosecond_pcap(tmp_path):
    frames = _frames(5)
    data = pcap_file([(1_700_000_000_987_654_321 + i * 7, f) for i, f in enumerate(frames)], nano=True,
                     big_endian=True)
    case, src = _import(tmp_path, "be.pcap", data)
    with case:
        refs = select_packets(case.con)
        for name in ("out.pcap", "out.pcapng"):
            out = tmp_path / name
            carve(case.con, refs, out, pcapng=name.endswith("ng"))
            # Written little-endian in nanoseconds: same times to the nanosecond, same bytes.
            assert tcpdump_write(out, tmp_path / "got.pcap")[24:] == tcpdump_write(src, tmp_path / "want.pcap")[24:]
            assert tcpdump_ns(out) == tcpdump_ns(src)


def tcpdump_ns(path: Path) -> list[str]:
    from carve_helpers import tcpdump

    out = tcpdump("-r", str(path), "-n", "--time-stamp-precision=nano", "-tt")
    return out.stdout.decode().splitlines()
