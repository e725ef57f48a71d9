"""The candidates chosen while decoding (forensics.appdata.select) equal those the SQL file
queries/derive/appdata_candidates.sql chooses over the stored packet rows, column for column, on corpus
captures with many TCP connections and UDP 5-tuples; batches are made small so that "first segments of each
5-tuple" is carried across many of them. Chosen batch by batch (feed) or run by run of the decoder's rows
(feed_rows, what the import does): then the frames kept are the file's bytes of those packets, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.appdata import kept_frames
from forensics.appdata.records import read_frames
from forensics.appdata.select import FIRST_SEGMENTS, KEPT_AT, CandidateSelector
from forensics.ingest import ImportOptions, import_paths
from forensics.readers.capture import CaptureReader
from forensics.readers.sniff import sniff
from forensics.resources import read_sql
from tests.conftest import CORPUS

FILES = ["nDPI/1kxun.pcap", "nDPI/teams.pcap", "nDPI/alexa-app.pcapng", "nDPI/dns-tunnel-iodine.pcap",
         "zeek/dhcp__dhcp_flood.pcap", "nDPI/dns_fragmented.pcap", "tcpdump/dns_tcp.pcap"]


def _chosen(path, batch_rows: int, how: str, tmp_path) -> CandidateSelector:
    """A selector fed the capture at `path` as the import feeds it (how="rows") or batch by batch."""
    size = path.stat().st_size
    sniffed = sniff(str(path), size)
    reader = CaptureReader(str(path), sniffed, size, batch_rows=batch_rows)
    selector = CandidateSelector(frames_folder=tmp_path)
    if how == "rows":
        reader.on_rows = selector.feed_rows
    for chunk in reader.chunks():
        if how == "batches":
            selector.feed(chunk.batch)
    return selector


def _assert_frames_are_the_files(selector: CandidateSelector, cols: dict, path, how: str, every: bool = True) -> None:
    """With feed_rows, each chosen packet's kept frame is its captured bytes in the file (read_frames); `every`:
    cols are all the chosen packets (columns(), not first_payload()), and nothing else was kept."""
    if how == "batches":
        assert KEPT_AT not in cols and selector.kept() is None
        return
    frames = selector.kept()
    assert frames is not None
    fmt = sniff(str(path), path.stat().st_size).format
    want = list(read_frames(str(path), fmt, zip(cols["file_offset"].tolist(), cols["caplen"].tolist(), strict=True)))
    with frames.view() as m:
        got = [m[a:a + n] for a, n in zip(cols[KEPT_AT].tolist(), cols["caplen"].tolist(), strict=True)]
    assert got == want
    if every:
        assert frames.size == sum(len(w) for w in want)


@pytest.mark.parametrize("rel", FILES)
@pytest.mark.parametrize(("batch_rows", "how"), [(97, "batches"), (100_000, "batches"), (97, "rows"),
                                                 (100_000, "rows")])
def test_batch_choice_equals_sql(case, rel, batch_rows, how, tmp_path, monkeypatch):
    path = CORPUS / "files" / rel
    assert path.exists(), f"{rel} not in the corpus (../shared/corpus beside the checkout)"
    summary = import_paths(case, [str(path)], ImportOptions(workers=1, appdata=False))
    cid = summary.files[0].capture_id
    sql = case.con.execute(read_sql("derive/appdata_candidates.sql"), {"cid": cid, "first": FIRST_SEGMENTS}
                           ).fetchnumpy()
    monkeypatch.setattr(kept_frames, "BUFFER_BYTES", 4096)  # frames through the temporary file, many writes
    selector = _chosen(path, batch_rows, how, tmp_path)
    ours = selector.columns()
    assert len(sql["frame"]) > 2  # some of every kind across FILES
    assert set(ours) - {KEPT_AT} == set(sql)
    _assert_frames_are_the_files(selector, ours, path, how)
    for name, theirs in sql.items():
        mine = ours[name]
        if name == "ip_len":
            assert np.array_equal(np.ma.getmaskarray(mine), np.ma.getmaskarray(theirs)), name
        assert np.array_equal(np.ma.filled(mine, 0).astype(np.int64), np.ma.filled(theirs, 0).astype(np.int64)) \
            if name not in ("src_hi", "src_lo", "dst_hi", "dst_lo", "file_offset") \
            else np.array_equal(np.ma.getdata(mine), np.ma.getdata(theirs)), name


@pytest.mark.parametrize("rel", FILES + ["zeek/dhcp__dhcp.pcap", "nDPI/smbv1.pcap", "zeek/tls__smtp-starttls.pcap"])
@pytest.mark.parametrize("how", ["batches", "rows"])
def test_first_payload_equals_sql(case, rel, how, tmp_path):
    """The packets app_labels checks the first payload bytes of, chosen while decoding (batches of 97 packets),
    equal queries/derive/app_first_payload.sql's over the stored packets, column for column."""
    path = CORPUS / "files" / rel
    assert path.exists(), f"{rel} not in the corpus (../shared/corpus beside the checkout)"
    summary = import_paths(case, [str(path)], ImportOptions(workers=1, appdata=False))
    cid = summary.files[0].capture_id
    sql = case.con.execute(read_sql("derive/app_first_payload.sql"), {"cid": cid}).fetchnumpy()
    selector = _chosen(path, 97, how, tmp_path)
    ours = selector.first_payload()
    assert len(ours["frame"]) == len(sql["frame"])  # none in the DNS-only captures
    _assert_frames_are_the_files(selector, ours, path, how, every=False)
    for name, theirs in sql.items():
        mine = ours[name]
        if name == "ip_len":
            assert np.array_equal(np.ma.getmaskarray(mine), np.ma.getmaskarray(theirs)), name
        assert np.array_equal(np.ma.filled(mine, 0).astype(np.int64), np.ma.filled(theirs, 0).astype(np.int64)) \
            if name not in ("src_hi", "src_lo", "dst_hi", "dst_lo", "file_offset") \
            else np.array_equal(np.ma.getdata(mine), np.ma.getdata(theirs)), name
