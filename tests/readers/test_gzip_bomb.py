"""gzip bombs stop early (bounded inflated bytes, not a clock), zero-length records are not progress,
and a genuine capture that deflates well still imports whole."""

from __future__ import annotations

import gzip
import io
import os
import zlib

from forensics.ingest import ImportOptions, import_paths
from forensics.readers import capture as capture_mod
from forensics.readers import inflate_ahead
from forensics.readers import sniff as sniff_mod
from forensics.readers.capture import CaptureReader
from forensics.readers.sniff import sniff
from tests import builders as b

UDP0 = b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 17, b.udp(1234, 80, bytes(1400))))
GOOD = [(1700000000.0 + i, b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.2", 6, b.tcp(1000 + i, 80, b.SYN))))
        for i in range(10)]


def gzip_stream(path, head: bytes, filler: bytes, total: int) -> None:
    """head, then filler repeated to `total` bytes, gzip -9 without holding it all."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        f.write(z.compress(head))
        block = filler * max(1, (1 << 20) // len(filler))
        done = 0
        while done < total:
            f.write(z.compress(block))
            done += len(block)
        f.write(z.flush())


def read_all(path) -> tuple[CaptureReader, int, int]:
    """Read with the reader alone: (reader, packets, bytes inflated)."""
    size = os.path.getsize(path)
    reader = CaptureReader(str(path), sniff(str(path), size), size)
    n = sum(len(c.batch["frame"]) for c in reader.chunks())
    stream = reader._stream
    inflated = getattr(stream, "inner", stream).count  # the BombGuard's count of bytes inflated (read ahead too)
    return reader, n, inflated


def test_zeros_bomb_stops_at_the_first_empty_records(case, tmp_path):
    path = tmp_path / "bomb.pcap.gz"
    head = b.pcap_file(GOOD)
    gzip_stream(path, head, bytes(1 << 20), 256 << 20)  # 256 MiB of zeros behind 10 packets (~250 KB file)
    reader, n, inflated = read_all(path)
    assert n == 10
    assert reader.rejected.offset == len(head)  # where the zeros start
    # stopped within a few windows of the limit (and the blocks inflated ahead of the reader), not after
    # inflating the bomb
    ahead = (inflate_ahead.DEPTH + 2) * inflate_ahead.BLOCK
    assert inflated < capture_mod.EMPTY_RUN_LIMIT * 16 + 4 * capture_mod.WINDOW + ahead
    summary = import_paths(case, [str(path)])
    (r,) = summary.files
    assert r.status == "partial" and r.packets == 10 and summary.exit_code == 1
    assert "gzip bomb" in r.message and str(path) in r.message and "\n" not in r.message
    assert r.offset == len(head)


def test_plain_zeros_are_not_progress_either(case, tmp_path):
    path = tmp_path / "zeros.pcap"
    head = b.pcap_file(GOOD)
    path.write_bytes(head + bytes(16 * (capture_mod.EMPTY_RUN_LIMIT + 10)))
    summary = import_paths(case, [str(path)])
    (r,) = summary.files
    assert r.status == "partial" and r.packets == 10 and r.offset == len(head)
    assert "records in a row capture no bytes" in r.message and "gzip" not in r.message


def test_packet_bomb_stops_by_inflation_ratio(tmp_path, monkeypatch):
    """Identical whole packets (same time too) deflate about 1000:1: the ratio guard stops them."""
    monkeypatch.setattr(sniff_mod, "BOMB_MIN_BYTES", 4 << 20)
    path = tmp_path / "packets.pcap.gz"
    rec = b.pcap_file([(1700000000.0, UDP0)])[24:]
    gzip_stream(path, b.pcap_file(GOOD), rec, 64 << 20)
    reader, n, inflated = read_all(path)
    assert reader.rejected is not None and "gzip bomb" in str(reader.rejected)
    # the gzip stream reads the compressed file 128 KiB ahead, so the ratio is of what it has read: the
    # guard stops at most BOMB_RATIO * (what was inflated from + 128 KiB), here the whole ~60 KB file, and one
    # step of the read-ahead thread past it (the guard looks after each step)
    assert inflated <= max(4 << 20, sniff_mod.BOMB_RATIO * min(os.path.getsize(path), 1 << 17)) + inflate_ahead.STEP
    assert inflated < (64 << 20) // 2  # long before the end
    assert 10 < n < inflated // len(rec) + 11  # the packets inflated before it are kept


def test_genuine_capture_that_deflates_well_imports_whole(case, tmp_path, monkeypatch):
    """Identical zero-payload UDP packets a microsecond apart: 251:1 at gzip -9, under the 400 limit."""
    monkeypatch.setattr(sniff_mod, "BOMB_MIN_BYTES", 1 << 20)
    data = b.pcap_file([(1700000000 + i * 1e-6, UDP0) for i in range(6000)])
    path = tmp_path / "flood.pcap.gz"
    path.write_bytes(gzip.compress(data, 9, mtime=0))
    ratio = len(data) / os.path.getsize(path)
    assert 200 < ratio < sniff_mod.BOMB_RATIO
    summary = import_paths(case, [str(path)])
    (r,) = summary.files
    assert r.status == "imported" and r.packets == 6000
    assert len(gzip.GzipFile(fileobj=io.BytesIO(path.read_bytes())).read()) == len(data)


def test_flow_file_bomb_and_endless_line_are_refused(case, tmp_path, monkeypatch):
    """Text flow files go through the same guard, and a line has a length limit (1 MiB). The guard's floor
    lowered to 4 MiB as in the packet bomb test (the reader takes every empty line before it: 16 MiB of them
    cost ~9 s of CPU); imported in this process, where that floor holds."""
    monkeypatch.setattr(sniff_mod, "BOMB_MIN_BYTES", 4 << 20)
    head = b"#separator \\x09\n#fields\tts\tuid\n"
    bomb = tmp_path / "conn.log.gz"
    gzip_stream(bomb, head, b"\n" * 4096, 64 << 20)  # 64 MiB of empty lines, deflating ~1000:1
    endless = tmp_path / "conn.log"
    endless.write_bytes(head + b"1.0\t" + b"B" * (3 << 20) + b"\n")
    results = {r.path: r for r in import_paths(case, [str(bomb), str(endless)],
                                               ImportOptions(workers=1, jobs=1)).files}
    for path, what in ((bomb, "gzip bomb"), (endless, "longer than 1,048,576 bytes")):
        r = results[str(path)]
        assert r.status == "rejected" and what in r.message and str(path) in r.message, r.message
