"""NetFlow v5 and v9/IPFIX fixed-length data sets decoded as numpy columns (forensics.readers.flow_columns) give
the rows the per-record path gives.

Each input is imported twice, with ExportCollector's vectorised paths and with the per-record reference
(forensics.ingest.flow_exports.VECTORISED = False), and the two cases compared table by table: flows (every
column, flow ids included), sequence gaps, and the collector's stats (invalid counts, templates, pending sets).
"""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest
from flowcase import CORPUS, import_capture, import_file, manifest
from hypothesis import given, settings
from hypothesis import strategies as st

from forensics.ingest import flow_exports as fe
from forensics.readers.flow_columns import DataSetBatch, set_plan
from forensics.readers.netflow import ExportHeader, FieldSpec, Template
from forensics.store import Case
from forensics.store.flow_table import flow_columns_table, flow_record_table

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
    rows = [r for r in manifest() if FLOW_CATEGORIES & set(re.split("[;,]", r["categories"]))]
    assert any("netflow-v5" in r["categories"] for r in rows)
    assert any("raw-datagram" in r["categories"] for r in rows)

    def load(case: Case) -> list[dict]:
        return [import_file(case, CORPUS / r["path"], "netflow-raw") if "raw-datagram" in r["categories"]
                else import_capture(case, CORPUS / r["path"]) for r in rows]

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


# ---- v9/IPFIX data sets: columns against the per-record path, on random templates and bytes ----

_IES = [1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 14, 15, 16, 17, 21, 22, 23, 24, 27, 28, 32, 58, 60, 61, 62, 85, 86, 139,
        150, 151, 152, 153, 154, 156, 158, 159, 161, 162, 176, 177, 178, 179, 231, 232, 243, 298, 299, 82, 400]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_IES), st.sampled_from([1, 2, 4, 8, 16, 4, 4, 2, 0]),
                          st.sampled_from([0] * 7 + [9])), min_size=1, max_size=10, unique_by=lambda f: f[0]),
       st.lists(st.tuples(st.binary(min_size=30, max_size=300), st.booleans(), st.sampled_from([None, 1, 0, 100]),
                          st.sampled_from([None, 1_600_000_000_000])), min_size=1, max_size=3))
def test_data_set_columns_equal_records(fields, sets):
    tpl = Template(256, tuple(FieldSpec(*f) for f in fields))
    plan = set_plan(tpl.fields)
    if plan is None:
        return
    batch = DataSetBatch()
    for i, (body, v9, rate, init) in enumerate(sets):
        header = ExportHeader(9 if v9 else 10, 1, 1_700_000_000 + i, 0, 123_456 if v9 else None, i, 7)
        batch.add(tpl, plan, body * 3, header, i + 1, 0xFFFF0A000001 if i else 0, rate, init, "ipfix")
    if not batch.rows:
        return
    cols = batch.columns()
    if cols is None:  # a value too large for int64 arithmetic: the collector takes records() then
        return
    fast, fast_bad = flow_columns_table(cols)
    slow, slow_bad = flow_record_table(batch.records())
    assert fast.equals(slow)
    assert [(r.get("record_pos"), c, p) for r, c, p in fast_bad] == [
        (r.get("record_pos"), c, p) for r, c, p in slow_bad]
