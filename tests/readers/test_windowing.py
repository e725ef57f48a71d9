"""The reader's window and batch sizes change nothing: a window barely larger than one record and
batches of a few packets give the same rows, flow-export candidates and errors as the defaults."""

from __future__ import annotations

import os

import numpy as np
import pytest

from forensics.readers import capture
from forensics.readers.capture import CaptureReader
from forensics.readers.sniff import sniff
from tests.conftest import corpus_path, corpus_rows


def _read(path: str, batch_rows: int) -> tuple[dict, list, str | None, list[int]]:
    size = os.path.getsize(path)
    reader = CaptureReader(path, sniff(path, size), size, batch_rows=batch_rows)
    chunks = list(reader.chunks())
    sizes = [len(c.batch["frame"]) for c in chunks]
    batch = {k: np.concatenate([c.batch[k] for c in chunks]) for k in chunks[0].batch} if chunks else {}
    exports = [e for c in chunks for e in c.exports]
    return batch, exports, (str(reader.rejected) if reader.rejected else None), sizes


def _pick() -> list[dict]:
    rows = [r for r in corpus_rows() if r["format"].startswith("pcap") and r["packets_capinfos"] != "0"]
    rows.sort(key=lambda r: -int(r["size_bytes"]))
    chosen = rows[:6]  # the largest (several windows each)
    chosen += [r for r in rows if "flow" in r["categories"] or "sflow" in r["path"]][:4]  # exports
    chosen += [r for r in rows if r["tshark_malformed_and_errors"] or "trunc" in r["path"]][:4]  # damaged
    return list({r["path"]: r for r in chosen}.values())


@pytest.mark.parametrize("row", _pick(), ids=lambda r: r["path"])
def test_small_window_and_tiny_batches_change_nothing(row, monkeypatch):
    path = str(corpus_path(row))
    want, want_exports, want_error, _ = _read(path, capture.BATCH_ROWS)
    monkeypatch.setattr(capture, "WINDOW", 300_000)  # just over the largest record (256 KiB + headers)
    got, got_exports, got_error, sizes = _read(path, 7)
    assert got_error == want_error
    assert got_exports == want_exports
    assert set(got) == set(want)
    for name in want:
        assert np.array_equal(got[name], want[name]), name
    assert all(n == 7 for n in sizes[:-1]) and 0 < sizes[-1] <= 7
    assert len(want["frame"]) == int(row["packets_capinfos"]) or want_error


@pytest.mark.parametrize("batch_rows", [7, capture.BATCH_ROWS])
def test_read_all_says_which_chunk_is_the_last(batch_rows):
    """The import begins reading the file back when the reader says the chunk in hand is the last: read_all is
    set before the last chunk is yielded (its decoding matrices already let go), never before."""
    row = _pick()[0]
    path = str(corpus_path(row))
    size = os.path.getsize(path)
    reader = CaptureReader(path, sniff(path, size), size, batch_rows=batch_rows)
    seen = []
    for chunk in reader.chunks():
        seen.append((reader.read_all, len(chunk.batch["frame"])))
        if reader.read_all:
            assert reader._O.shape[1] == 0 and reader._R.shape[1] == 0
    assert reader.read_all
    assert all(not flag for flag, _ in seen[:-1])
    if sum(n for _, n in seen) % batch_rows:  # a part batch last: the reader knew it was the last
        assert seen[-1][0]


@pytest.mark.parametrize("row", _pick()[:4], ids=lambda r: r["path"])
@pytest.mark.parametrize("lake_layout", [True, False])
def test_reused_batch_buffers_give_the_same_tables(row, lake_layout):
    """reuse_batches (the import): each batch's store table, built before the next batch is decoded, is the same
    as without reuse, and stays so after the later batches overwrote the reused buffers; the reused columns are
    the same memory batch after batch, the FRESH_COLUMNS never."""
    from forensics.store import packet_table

    path = str(corpus_path(row))
    size = os.path.getsize(path)

    def tables(reuse: bool) -> tuple[list, list]:
        reader = CaptureReader(path, sniff(path, size), size, batch_rows=97)
        reader.reuse_batches = reuse
        out, addresses, fresh = [], [], []
        for chunk in reader.chunks():
            out.append(packet_table(chunk.batch, lake_layout))
            addresses.append({k: v.__array_interface__["data"][0] for k, v in chunk.batch.items()})
            fresh.append({k: chunk.batch[k] for k in capture.FRESH_COLUMNS})  # held: their memory is not freed
            del chunk
        return out, addresses

    want, _ = tables(False)
    got, addresses = tables(True)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):  # compared once every batch is decoded: nothing was overwritten
        assert g.equals(w)
    if len(addresses) > 2:  # (the last batch is shorter; its buffers are the same too, unless it is the only one)
        first, second = addresses[0], addresses[1]
        reused = [k for k in first if k not in capture.FRESH_COLUMNS]
        assert reused and all(first[k] == second[k] for k in reused)
        assert all(first[k] != second[k] for k in capture.FRESH_COLUMNS)
