"""Captures and flow files compressed with gzip, zstd, LZ4, bzip2 or xz import as the plain file does.

Each codec's file is written in two members or frames (as a rotated and appended log, or a parallel
compressor, writes them). The case built from it must hold what the plain file's case holds, row for row:
packets (offsets are in the decompressed stream), flows, application data read back from the file, and the
bytes `forensics carve` writes. Damaged data keeps the packets before it; a stream that inflates beyond what
the codec gives genuine captures is stopped as a bomb.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os

import lz4.frame
import pytest
import zstandard

from forensics.carve import carve, select_packets
from forensics.ingest import ImportOptions, import_paths
from forensics.readers import sniff as sniff_mod
from forensics.store import Case
from tests import builders as b
from tests.conftest import CORPUS

COMPRESS = {
    "gzip": lambda data: gzip.compress(data, 9, mtime=0),
    "zstd": lambda data: zstandard.ZstdCompressor(level=19).compress(data),
    "lz4": lambda data: lz4.frame.compress(data),
    "bzip2": lambda data: bz2.compress(data, 9),
    "xz": lambda data: lzma.compress(data, preset=9),
}
CODECS = list(COMPRESS)
FILES = ["files/zeek/smtp.pcap", "files/debian-gopacket/le__test301.pcapng",
         "files/graylog-netflow/nprobe-netflow9-3.pcap", "files/logstash-netflow/netflow5_test_juniper_mx80.dat"]

UDP0 = b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1234, 80, bytes(1400))))
GOOD = [(1700000000.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 6, b.tcp(1000 + i, 80, b.SYN))))
        for i in range(10)]


def two_parts(codec: str, data: bytes) -> bytes:
    """`data` as two members/frames/streams of `codec`, cut off any record boundary."""
    cut = len(data) * 2 // 5 + 3
    return COMPRESS[codec](data[:cut]) + COMPRESS[codec](data[cut:])


def _rows(case: Case, cid: int) -> dict[str, list]:
    con = case.con
    out = {
        "packets": con.execute("SELECT * EXCLUDE (capture_id) FROM packets WHERE capture_id = $c ORDER BY frame",
                               {"c": cid}).fetchall(),
        "flows": con.execute("SELECT * EXCLUDE (capture_id, flow_id) FROM flows WHERE capture_id = $c "
                             "ORDER BY flow_id", {"c": cid}).fetchall(),
    }
    for table in ("smtp", "flow_app"):
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = $t AND NOT internal "
            "AND column_name NOT IN ('capture_id', 'flow_id') ORDER BY column_index", {"t": table}).fetchall()]
        if cols:
            where = "capture_id = $c" if table != "flow_app" else "flow_id >> 32 = $c"
            out[table] = sorted(con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {where}",
                                            {"c": cid}).fetchall(), key=repr)
    return out


@pytest.mark.parametrize("codec", CODECS)
def test_compressed_file_imports_as_the_plain_file(codec, tmp_path):
    paths, plain = [], []
    for name in FILES:
        src = CORPUS / name
        data = src.read_bytes()
        packed = tmp_path / f"{src.name}.{codec}"
        packed.write_bytes(two_parts(codec, data))
        plain.append(str(src))
        paths.append(str(packed))
    with Case.open(tmp_path / "case.duckdb") as case:
        summary = import_paths(case, plain + paths, ImportOptions(workers=1, jobs=1))
        assert summary.exit_code == 0, [r.message for r in summary.files]
        results = {r.path: r for r in summary.files}
        for src, packed in zip(plain, paths, strict=True):
            a, z = results[src], results[packed]
            assert z.format == a.format + f"+{codec}", z.format
            assert (z.packets, z.flows, z.flow_records) == (a.packets, a.flows, a.flow_records)
            assert a.packets or a.flow_records
            mine, theirs = _rows(case, z.capture_id), _rows(case, a.capture_id)
            assert mine == theirs, src
            if src.endswith("smtp.pcap"):
                assert mine["smtp"], "the SMTP commands are read back from the compressed file"
            if a.packets:  # the packets carved from each are the same bytes
                carved = [[f.path.read_bytes() for f in carve(
                    case.con, select_packets(case.con, "capture_id = $c", {"c": cid}), tmp_path / f"{cid}.pcap")]
                    for cid in (a.capture_id, z.capture_id)]
                assert carved[0] == carved[1] and carved[0], src


@pytest.mark.parametrize("codec", CODECS)
def test_damaged_compressed_data_keeps_the_packets_before(codec, case, tmp_path):
    """3 MB of packets that do not compress (bzip2 decompresses whole 900 kB blocks: a cut keeps those before)."""
    packets = [(1700000000.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 6, b.tcp(1, 2, b.ACK,
                                                                                     os.urandom(1000)))))
               for i in range(3000)]
    whole = COMPRESS[codec](b.pcap_file(packets))
    cut = tmp_path / f"cut.pcap.{codec}"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    garbage = tmp_path / f"garbage.{codec}"
    garbage.write_bytes(sniff_mod.COMPRESSION_MAGICS[codec] + b"9" + bytes(range(256)) * 8)
    summary = import_paths(case, [str(cut), str(garbage)])
    r, g = summary.files
    assert r.status == "partial" and 0 < r.packets < 3000, r.message
    assert "byte offset" in r.message and str(cut) in r.message and "\n" not in r.message
    assert g.status == "rejected" and f"{codec} file whose data cannot be decompressed" in g.message, g.message
    assert summary.exit_code == 1


@pytest.mark.parametrize("codec", ["zstd", "bzip2", "xz"])
def test_packet_bomb_stops_by_the_codecs_ratio(codec, case, tmp_path, monkeypatch):
    """Identical whole packets at one time compress far beyond a genuine capture (zstd ~10,800:1, bzip2
    ~67,500:1, xz ~6,750:1 on these): the guard stops them, the packets inflated before are kept."""
    monkeypatch.setattr(sniff_mod, "BOMB_MIN_BYTES", 4 << 20)
    rec = b.pcap_file([(1700000000.0, UDP0)])[24:]
    path = tmp_path / f"bomb.pcap.{codec}"
    path.write_bytes(COMPRESS[codec](b.pcap_file(GOOD) + rec * ((32 << 20) // len(rec))))
    (r,) = import_paths(case, [str(path)]).files
    assert r.status == "partial" and f"{codec} bomb" in r.message, r.message
    assert 10 < r.packets < (24 << 20) // len(rec)  # stopped well before the end


@pytest.mark.parametrize("codec", CODECS)
def test_genuine_capture_that_compresses_well_imports_whole(codec, case, tmp_path, monkeypatch):
    """Identical zero-payload UDP packets a microsecond apart, the best genuine case: under every limit."""
    monkeypatch.setattr(sniff_mod, "BOMB_MIN_BYTES", 1 << 20)
    data = b.pcap_file([(1700000000 + i * 1e-6, UDP0) for i in range(12000)])
    path = tmp_path / f"flood.pcap.{codec}"
    path.write_bytes(COMPRESS[codec](data))
    assert len(data) / os.path.getsize(path) < sniff_mod.BOMB_RATIOS[codec]
    (r,) = import_paths(case, [str(path)]).files
    assert r.status == "imported" and r.packets == 12000, r.message


@pytest.mark.parametrize("codec", CODECS)
def test_cut_in_a_later_member_is_not_a_clean_end(codec, case, tmp_path):
    """Records in whole members/frames, the second one cut: the packets of the first are kept and the file is
    partial, not imported as if it ended there (zstandard's reader stops silently inside a frame)."""
    first = b.pcap_file(GOOD)
    second = b.pcap_file([(1700000100.0 + i, UDP0) for i in range(50)])[24:]
    head = COMPRESS[codec](first)
    path = tmp_path / f"cut.pcap.{codec}"
    path.write_bytes(head + COMPRESS[codec](second)[:40])
    (r,) = import_paths(case, [str(path)]).files
    assert r.status == "partial" and r.packets == len(GOOD), (r.status, r.packets, r.message)
    offset = int(r.message.split("byte offset ")[1].split(":")[0])  # where decompression stopped
    assert len(first) <= offset < len(first) + len(second) and "compressed data ends" in r.message, r.message


def test_compressed_twice_says_so(case, tmp_path):
    """One layer of compression is read: a .pcap.gz compressed again with zstd is refused, naming both layers
    and the command that removes the outer one."""
    path = tmp_path / "twice.pcap.gz.zst"
    path.write_bytes(COMPRESS["zstd"](COMPRESS["gzip"](b.pcap_file(GOOD))))
    summary = import_paths(case, [str(path)])
    (r,) = summary.files
    assert r.status == "rejected" and summary.exit_code == 1
    assert r.message == (f"{path}, byte offset 0: gzip data inside zstd: one layer of compression is read. "
                         "Decompress the outer one (zstd -dk FILE) and import the result")
