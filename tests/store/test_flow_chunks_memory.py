"""Exported flow records go into a file's transaction chunk by chunk (CaptureWriter.append_flow_records), and no
chunk's Arrow table outlives its INSERT. A table register()ed and unregistered inside a transaction stays alive
until the COMMIT (DuckDB keeps the dropped view): every chunk of a 10 M-flow nfcapd file held at once, GBs of RSS
(bench/README.md, "Twenty-third session")."""

from __future__ import annotations

import pyarrow as pa
import pytest

from forensics.store import CaptureMeta, Case

ROWS = 20_000
CHUNKS = 5


def _records() -> list[dict]:
    return [{"source": "nfcapd", "record_pos": i, "first_ts_us": 1_700_000_000_000_000 + i,
             "last_ts_us": 1_700_000_001_000_000 + i, "ip_version": 4, "src_ip": (0xFFFF << 32) + 0x0A000001 + i,
             "dst_ip": (0xFFFF << 32) + 0x0D000001, "ip_proto": 6, "src_port": 1024 + i % 1000, "dst_port": 443,
             "packets": 3, "bytes": 180} for i in range(ROWS)]


@pytest.mark.parametrize("layout", ["lake", "file"])
def test_chunks_are_not_held_until_the_commit(tmp_path, monkeypatch, layout):
    monkeypatch.setenv("FORENSICS_LAYOUT", layout)
    pool = pa.default_memory_pool()
    records = _records()
    with Case.open(tmp_path / ("case" if layout == "lake" else "case.duckdb")) as case:
        with case.importing(CaptureMeta(path="flows.txt", sha256="test", size_bytes=1, format="test")) as writer:
            writer.append_flow_records(records)  # (the first chunk: whatever a first call sets up)
            before = pool.bytes_allocated()
            for _ in range(CHUNKS - 1):
                writer.append_flow_records(records)
            grown = pool.bytes_allocated() - before
        assert case.con.execute("SELECT count(*) FROM flows").fetchone()[0] == ROWS * CHUNKS
    # (held until the COMMIT, the four chunks were 19.6 MB of Arrow buffers)
    assert grown < 1 << 20, f"{grown:,} bytes of Arrow buffers held across {CHUNKS - 1} chunks"
