"""The vectorised payload offsets (records.payload_spans) against the per-packet reader (transport_payload),
which test_malformed checks against dpkt: every TCP/UDP packet of Ethernet corpus captures (pcap)."""

from __future__ import annotations

import mmap
from pathlib import Path

import dpkt
import numpy as np
import pytest

from forensics.appdata.records import frame_starts, payload_spans, read_frames, transport_payload
from tests.conftest import CORPUS

FILES = ["tcpdump/dns_tcp.pcap", "tcpdump/dnssec.pcap", "zeek/http-vlan-0.pcap"]


def _records(path: Path) -> list[tuple[int, int, int]]:
    """(file offset, caplen, ip proto) of each Ethernet IPv4/IPv6 TCP or UDP frame, walked with dpkt."""
    out, offset = [], 24
    with open(path, "rb") as f:
        for _ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            proto = getattr(eth.data, "p", None)
            if proto in (6, 17):
                out.append((offset, len(buf), proto))
            offset += 16 + len(buf)
    return out


@pytest.mark.parametrize("rel", FILES)
def test_spans_equal_per_packet_payloads(rel: str) -> None:
    path = CORPUS / "files" / rel
    assert path.exists(), f"{rel} not in the corpus (../shared/corpus beside the checkout)"
    recs = _records(path)
    assert recs
    offsets = np.array([r[0] for r in recs], np.int64)
    caplen = np.array([r[1] for r in recs], np.int64)
    proto = np.array([r[2] for r in recs], np.int64)
    frames = list(read_frames(str(path), "pcap-le-usec", zip(offsets.tolist(), caplen.tolist(), strict=True)))
    expected = [transport_payload(1, d, len(d), p, None) for d, p in zip(frames, proto.tolist(), strict=True)]
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        buf = np.frombuffer(m, np.uint8)
        starts = frame_starts(buf, "pcap-le-usec", offsets)
        lo, hi, fast = payload_spans(buf, starts, caplen, np.ones(len(recs), np.int64), proto)
        del buf
        got = [m[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]
    assert fast.sum() > 0
    for k in np.flatnonzero(fast).tolist():
        assert got[k] == expected[k], f"{rel} record {k}"
