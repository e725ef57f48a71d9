"""NetFlow v5 decoded as numpy columns (forensics.readers.flow_columns) gives the rows the per-record path gives.

Each input is imported twice, with ExportCollector's vectorised v5 path and with the per-record reference
(forensics.ingest.flow_exports.VECTORISED = False), and the two cases compared table by table: flows (every
column, flow ids included), sequence gaps, and the collector's stats (invalid counts, templates, pending sets).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from flowcase import CORPUS, import_capture, import_file, manifest

from forensics.ingest import flow_exports as fe
from forensics.store import Case

FLOW_CATEGORIES = {"netflow-v5", "netflow-v9", "ipfix"}
COMPARED = ["SELECT * FROM flows ORDER BY flow_id",
            "SELECT * EXCLUDE (capture_id) FROM flow_sequence_gaps ORDER BY ALL",
            "SELECT count(*), sum(flow_records) FROM captures"]


def _tables(case: Case) -> list[list[tuple]]:
    return [case.con.execute(sql).fetchall() for sql in COMPARED]


def _both_ways(tmp_path, monkeypatch, load) -> tuple[list, list]:
    out = []
    for vectorised in (True, False):
        monkeypatch.setattr(fe, "VECTORISED", vectorised)
        with Case.open(tmp_path / f"case_{vectorised}") as case:
            stats = load(case)
            out.append((stats, _tables(case)))
    return out[0], out[1]


def test_corpus_flow_captures_same_rows(tmp_path, monkeypatch):
    rows = [r for r in manifest() if FLOW_CATEGORIES & set(r["categories"].split(","))]
    assert any("netflow-v5" in r["categories"] for r in rows)

    def load(case: Case) -> list[dict]:
        return [import_capture(case, CORPUS / r["path"]) for r in rows]

    (fast_stats, fast), (slow_stats, slow) = _both_ways(tmp_path, monkeypatch, load)
    assert fast_stats == slow_stats
    assert fast == slow
    v5 = [t for t in fast[0] if t[1] == "netflow_v5"]
    assert v5, "the corpus v5 captures gave no v5 rows"


def _v5_file(path, rng: np.random.Generator, datagrams: int) -> None:
    """v5 datagrams with random records (ICMP among them, uptime wrap, sampling, engine ids), sequence gaps and
    a last datagram cut mid-record."""
    seq = 0
    with open(path, "wb") as f:
        for d in range(datagrams):
            count = int(rng.integers(1, 31))
            header = struct.pack("!HHIIIIBBH", 5, count, int(rng.integers(0, 2**32)),
                                 1_600_000_000 + d, int(rng.integers(0, 10**9)), seq, d % 3, d % 2,
                                 int(rng.integers(0, 2**16)) if d % 4 == 0 else 0)
            seq += count + (7 if d % 11 == 3 else 0)
            recs = rng.integers(0, 256, size=(count, 48), dtype=np.uint8)
            recs[:, 38] = rng.choice([1, 6, 17, 58], size=count)  # ip_proto
            data = header + recs.tobytes()
            f.write(data[:-20] if d == datagrams - 1 else data)


def test_generated_v5_file_same_rows(tmp_path, monkeypatch):
    path = tmp_path / "gen.nf5"
    _v5_file(path, np.random.default_rng(7), 400)
    (fast_stats, fast), (slow_stats, slow) = _both_ways(
        tmp_path, monkeypatch, lambda case: import_file(case, path, "netflow-raw"))
    assert fast_stats == slow_stats
    assert fast == slow
    assert fast_stats["invalid"].get("record_past_end")
    assert fast_stats["sequence_gaps"]["gaps"] > 0
    assert any(r[14] is not None for r in fast[0])  # icmp_type set on some rows


@pytest.mark.parametrize("chunk", [7])
def test_v5_between_v9_keeps_order(tmp_path, monkeypatch, chunk):
    """A capture mixing v5 and v9 datagrams, written in small chunks: the same flow ids either way."""
    monkeypatch.setattr(fe, "CHUNK", chunk)
    path = CORPUS / "files/graylog-netflow/nprobe-netflow9.pcap"
    (fast_stats, fast), (slow_stats, slow) = _both_ways(tmp_path, monkeypatch,
                                                        lambda case: import_capture(case, path))
    assert fast_stats == slow_stats
    assert fast == slow
    assert {r[1] for r in fast[0]} == {"netflow_v5", "netflow_v9"}
