"""File and section headers checked against tshark/capinfos: pcapng sections of either byte order one
after another, the pcap link-type field's FCS and reserved bits, IDB options that overrun their block,
simple packet blocks cut at the snap length."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from forensics.ingest import import_paths
from tests import builders as b
from tests.conftest import CORPUS

S4, D4 = "10.0.0.1", "10.0.0.2"
FRAME = b.eth(0x0800, b.ipv4(S4, D4, 17, b.udp(1000, 53, b"query")))
RAW = b.ipv4(S4, D4, 6, b.tcp(40000, 80, b.SYN))
ENCAP = {"eth": 1, "raw": 101}  # tshark's first protocol -> LINKTYPE


def tshark_rows(path: Path) -> list[dict[str, str]]:
    fields = ["frame.time_epoch", "frame.cap_len", "frame.len", "frame.protocols"]
    cmd = [shutil.which("tshark") or "tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
    for name in fields:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [dict(zip(fields, line.split("\t"), strict=True)) for line in out.stdout.splitlines()]


def capinfos_interfaces(path: Path) -> list[tuple[str, int]]:
    """(name, LINKTYPE) of every interface capinfos lists, in file order (its numbering is file-wide)."""
    out = subprocess.run(["capinfos", str(path)], capture_output=True, text=True, timeout=60).stdout
    out = out.split("Section 1:")[0]  # capinfos 4.0 repeats the file-wide list under every section
    names = [line.split("=", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("Name =")]
    encaps = [line.split("=", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("Encapsulation =")]
    lt = {"Ethernet": 1, "Raw IP": 101}
    return [(n, lt[e.split(" (")[0]]) for n, e in zip(names, encaps, strict=True)]


def imported(case, path: Path):
    summary = import_paths(case, [str(path)])
    (result,) = summary.files
    packets = case.con.execute(
        "SELECT epoch_us(ts), caplen, wirelen, linktype, iface FROM packets ORDER BY frame").fetchall()
    interfaces = case.con.execute(
        "SELECT iface, section, linktype, tsresol_ns, name FROM interfaces ORDER BY iface").fetchall()
    return result, packets, interfaces


def mixed_sections() -> bytes:
    """Little-endian, big-endian, little-endian sections, each with its own interfaces and resolutions."""
    return b.pcapng_file([
        b.Section([b.Interface(1, 0, 6, "le0"), b.Interface(101, 0, 9, "le1"),
                   b.Packet(FRAME, 1700000000.5, 0), b.Packet(RAW, 1700000001.25, 1)]),
        b.Section([b.Interface(101, 0, 0x94, "be0"), b.Interface(1, 0, None, "be1"),
                   b.Packet(FRAME, 1700000002.0, 1), b.Packet(RAW, 1700000003.5, 0),
                   b.Packet(RAW, 1700000003.75, 0, kind="obsolete")], big_endian=True),
        b.Section([b.Interface(1, 0, 3, "le2"), b.Packet(FRAME, 1700000004.125, 0)]),
    ])


@pytest.mark.oracle
def test_sections_of_both_byte_orders_match_tshark(case, tmp_path):
    path = tmp_path / "mixed.pcapng"
    path.write_bytes(mixed_sections())
    result, packets, interfaces = imported(case, path)
    assert result.status == "imported", result.message
    want = tshark_rows(path)
    assert len(packets) == len(want) == 6
    for (ts_us, caplen, wirelen, linktype, _), row in zip(packets, want, strict=True):
        ns = int(row["frame.time_epoch"].replace(".", ""))
        assert ts_us == ns // 1000
        assert (caplen, wirelen) == (int(row["frame.cap_len"]), int(row["frame.len"]))
        assert linktype == ENCAP[row["frame.protocols"].split(":")[0]]
    # interfaces: file-wide numbers in file order, each section's own; capinfos lists them the same way
    assert [(name, lt) for _, _, lt, _, name in interfaces] == capinfos_interfaces(path)
    assert [(i, s, r) for i, s, _, r, _ in interfaces] == [(0, 0, 1000), (1, 0, 1), (2, 1, 953), (3, 1, 1000),
                                                          (4, 2, 1_000_000)]
    # a packet names its section's interface: be1 (3) for the first big-endian packet, be0 (2) after it
    assert [p[4] for p in packets] == [0, 1, 3, 2, 2, 4]


@pytest.mark.oracle
def test_corpus_sections_concatenated(case, tmp_path):
    """The pcapng-test-generator's little- and big-endian test001 one after the other (8 packets)."""
    gp = CORPUS / "files" / "gopacket"
    path = tmp_path / "le-then-be.pcapng"
    path.write_bytes((gp / "le__test001.pcapng").read_bytes() + (gp / "be__test001.pcapng").read_bytes()
                     + (gp / "le__test010.pcapng").read_bytes())
    result, packets, interfaces = imported(case, path)
    assert result.status == "imported", result.message
    want = tshark_rows(path)
    assert len(packets) == len(want) == 12
    assert [(p[1], p[2]) for p in packets] == [(int(r["frame.cap_len"]), int(r["frame.len"])) for r in want]
    assert [(i[1], i[2]) for i in interfaces] == [(0, 1), (1, 1), (2, 1)]


@pytest.mark.oracle
@pytest.mark.parametrize("extra,fcs", [(0x0001_0000, None), (0x0400_0000 | (2 << 28), 4), (0x03FF_0000, None)])
def test_pcap_link_field_upper_bits(case, tmp_path, extra, fcs):
    """Reserved bits and an FCS length above the 16-bit LINKTYPE: the link type is the low 16 bits.

    The pcap draft says readers MUST ignore the reserved bits (16-25); tshark and tcpdump 4.0/4.99
    refuse such a file instead, so the oracle reads the same file with the reserved bits cleared.
    """
    data = bytearray(b.pcap_file([(1700000000.0 + i, FRAME + b"\x11\x22\x33\x44") for i in range(3)]))
    struct.pack_into("<I", data, 20, 1 | extra)
    path = tmp_path / "fcs.pcap"
    path.write_bytes(bytes(data))
    result, packets, interfaces = imported(case, path)
    assert result.status == "imported", result.message
    struct.pack_into("<I", data, 20, (1 | extra) & ~0x03FF_0000)
    clean = tmp_path / "clean.pcap"
    clean.write_bytes(bytes(data))
    want = tshark_rows(clean)
    assert len(packets) == len(want) == 3
    assert all(r["frame.protocols"].startswith("eth:ethertype:ip:udp") for r in want)
    assert [(p[1], p[2], p[3]) for p in packets] == [(int(r["frame.cap_len"]), int(r["frame.len"]), 1) for r in want]
    assert interfaces[0][2] == 1
    got = case.con.execute("SELECT fcs_len FROM interfaces").fetchone()[0]
    assert got == fcs
    assert case.con.execute("SELECT count(*) FROM packets WHERE src_port = 1000 AND NOT malformed").fetchone()[0] == 3


@pytest.mark.oracle
def test_idb_option_longer_than_its_block_is_damage(case, tmp_path):
    good = b.Section([b.Interface(1, 0, 6, "eth0"), b.Packet(FRAME, 1700000000.0, 0)])
    first = b.pcapng_file([good])
    idb = bytearray(b.Interface(1, 0, 6, "eth1").encode("<"))
    struct.pack_into("<H", idb, 16 + 2, 65535)  # the if_name option's length
    path = tmp_path / "idb.pcapng"
    path.write_bytes(first + bytes(idb) + b.Packet(FRAME, 1700000001.0, 1).encode("<", [b.Interface()] * 2))
    tshark_out = subprocess.run(["tshark", "-r", str(path)], capture_output=True, text=True, timeout=60)
    assert tshark_out.returncode != 0 and "corrupt" in tshark_out.stderr.lower()
    result, packets, _ = imported(case, path)
    assert result.status == "partial"
    assert len(packets) == 1  # the packet before the damaged block is kept
    assert result.offset == len(first) + 16 and "option 2 claims 65535 bytes" in result.message
    assert str(path) in result.message and "\n" not in result.message


@pytest.mark.oracle
def test_simple_packet_block_cut_at_snaplen(case, tmp_path):
    """An SPB's captured length is min(original length, interface 0's snaplen) (pcapng spec 4.4)."""
    big = b.eth(0x0800, b.ipv4(S4, D4, 17, b.udp(1000, 53, b"x" * 200)))
    spbs = [b.Packet(big[:64], wirelen=len(big), kind="spb"), b.Packet(FRAME, kind="spb")]
    path = tmp_path / "spb.pcapng"
    path.write_bytes(b.pcapng_file([b.Section([b.Interface(1, 64, 6, "eth0"), *spbs])]))
    result, packets, _ = imported(case, path)
    assert result.status == "imported", result.message
    want = tshark_rows(path)
    assert [(p[1], p[2]) for p in packets] == [(int(r["frame.cap_len"]), int(r["frame.len"])) for r in want]
    assert [p[1] for p in packets] == [64, len(FRAME)]
    # A writer that put the whole frame in the block anyway: still cut at the snap length. (tshark 4.0
    # misreads this block's trailer, so the spec is the oracle here.)
    over = tmp_path / "spb-over.pcapng"
    over.write_bytes(b.pcapng_file([b.Section([b.Interface(1, 64, 6, "eth0"), b.Packet(big, kind="spb")])]))
    result = import_paths(case, [str(over)]).files[0]
    assert result.status == "imported", result.message
    got = case.con.execute("SELECT caplen, wirelen FROM packets WHERE capture_id = $c", {"c": result.capture_id})
    assert got.fetchall() == [(64, len(big))]


@pytest.mark.parametrize("seconds", [2**62, -(2**62)])
def test_tsoffset_beyond_any_date_is_damage(case, tmp_path, seconds):
    """if_tsoffset of 2**62 s overflowed the int64 microsecond offset (OverflowError) before."""
    good = b.pcapng_file([b.Section([b.Interface(1, 0, 6, "eth0"), b.Packet(FRAME, 1700000000.0, 0)])])
    bad = b.Interface(1, 0, 6, "eth1", options=[(14, struct.pack("<q", seconds))]).encode("<")
    path = tmp_path / "tsoffset.pcapng"
    path.write_bytes(good + bad)
    result, packets, _ = imported(case, path)
    assert result.status == "partial" and len(packets) == 1
    assert "if_tsoffset" in result.message and result.offset > len(good)


def test_mixed_sections_fast_equals_exact(tmp_path):
    """The compiled walk's rows equal the exact decoder's for every packet of every section."""
    from tests.readers.test_fast_vs_exact import compare_file

    path = tmp_path / "mixed.pcapng"
    path.write_bytes(mixed_sections())
    assert compare_file(str(path)) == 6


@pytest.mark.parametrize("units", [0x7FFF_FFFF_FFFF_FFFF, -(2**63), 2**40 * 10**6])
def test_packet_time_beyond_any_date_is_damage(case, tmp_path, units):
    """A 64-bit time beyond the years 1-9999 (INT64_MIN microseconds broke the flow SQL before)."""
    iface = b.Interface(1, 0, 6, "eth0")
    good = b.pcapng_file([b.Section([iface, b.Packet(FRAME, 1700000000.0, 0)])])
    block = bytearray(b.Packet(FRAME, 1700000001.0, 0).encode("<", [iface]))
    struct.pack_into("<iI", block, 12, units >> 32, units & 0xFFFFFFFF)
    path = tmp_path / "time.pcapng"
    path.write_bytes(good + bytes(block) + b.Packet(FRAME, 1700000002.0, 0).encode("<", [iface]))
    result, packets, _ = imported(case, path)
    assert result.status == "partial" and len(packets) == 1
    assert result.offset == len(good) and "beyond the years 1-9999" in result.message
