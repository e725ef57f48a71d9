"""The candidates chosen batch by batch while decoding (forensics.appdata.select) equal those the SQL file
queries/derive/appdata_candidates.sql chooses over the stored packet rows, column for column, on corpus
captures with many TCP connections and UDP 5-tuples; batches are made small so that "first segments of each
5-tuple" is carried across many of them."""

from __future__ import annotations

import numpy as np
import pytest

from forensics.appdata.select import FIRST_SEGMENTS, CandidateSelector
from forensics.ingest import ImportOptions, import_paths
from forensics.readers.capture import CaptureReader
from forensics.readers.sniff import sniff
from forensics.resources import read_sql
from tests.conftest import CORPUS

FILES = ["nDPI/1kxun.pcap", "nDPI/teams.pcap", "nDPI/alexa-app.pcapng", "nDPI/dns-tunnel-iodine.pcap",
         "zeek/dhcp__dhcp_flood.pcap", "nDPI/dns_fragmented.pcap", "tcpdump/dns_tcp.pcap"]


@pytest.mark.parametrize("rel", FILES)
@pytest.mark.parametrize("batch_rows", [97, 100_000])
def test_batch_choice_equals_sql(case, rel, batch_rows):
    path = CORPUS / "files" / rel
    assert path.exists(), f"{rel} not in the corpus (../shared/corpus beside the checkout)"
    summary = import_paths(case, [str(path)], ImportOptions(workers=1, appdata=False))
    cid = summary.files[0].capture_id
    sql = case.con.execute(read_sql("derive/appdata_candidates.sql"), {"cid": cid, "first": FIRST_SEGMENTS}
                           ).fetchnumpy()
    size = path.stat().st_size
    reader = CaptureReader(str(path), sniff(str(path), size), size, batch_rows=batch_rows)
    selector = CandidateSelector()
    for chunk in reader.chunks():
        selector.feed(chunk.batch)
    ours = selector.columns()
    assert len(sql["frame"]) > 2  # some of every kind across FILES
    assert set(ours) == set(sql)
    for name, theirs in sql.items():
        mine = ours[name]
        if name == "ip_len":
            assert np.array_equal(np.ma.getmaskarray(mine), np.ma.getmaskarray(theirs)), name
        assert np.array_equal(np.ma.filled(mine, 0).astype(np.int64), np.ma.filled(theirs, 0).astype(np.int64)) \
            if name not in ("src_hi", "src_lo", "dst_hi", "dst_lo", "file_offset") \
            else np.array_equal(np.ma.getdata(mine), np.ma.getdata(theirs)), name


@pytest.mark.parametrize("rel", FILES + ["zeek/dhcp__dhcp.pcap", "nDPI/smbv1.pcap", "zeek/tls__smtp-starttls.pcap"])
def test_first_payload_equals_sql(case, rel):
    """The packets app_labels checks the first payload bytes of, chosen while decoding (batches of 97 packets),
    equal queries/derive/app_first_payload.sql's over the stored packets, column for column."""
    path = CORPUS / "files" / rel
    assert path.exists(), f"{rel} not in the corpus (../shared/corpus beside the checkout)"
    summary = import_paths(case, [str(path)], ImportOptions(workers=1, appdata=False))
    cid = summary.files[0].capture_id
    sql = case.con.execute(read_sql("derive/app_first_payload.sql"), {"cid": cid}).fetchnumpy()
    size = path.stat().st_size
    reader = CaptureReader(str(path), sniff(str(path), size), size, batch_rows=97)
    selector = CandidateSelector()
    for chunk in reader.chunks():
        selector.feed(chunk.batch)
    ours = selector.first_payload()
    assert len(ours["frame"]) == len(sql["frame"])  # none in the DNS-only captures
    for name, theirs in sql.items():
        mine = ours[name]
        if name == "ip_len":
            assert np.array_equal(np.ma.getmaskarray(mine), np.ma.getmaskarray(theirs)), name
        assert np.array_equal(np.ma.filled(mine, 0).astype(np.int64), np.ma.filled(theirs, 0).astype(np.int64)) \
            if name not in ("src_hi", "src_lo", "dst_hi", "dst_lo", "file_offset") \
            else np.array_equal(np.ma.getdata(mine), np.ma.getdata(theirs)), name
