"""Test helper: feed the UDP export datagrams of a capture to an ExportCollector (without the core importer)."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import dpkt

from forensics.ingest.flow_exports import (
    ExportCollector,
    _counted_lines,
    _line_blocks,
    import_flow_file,
    looks_like_export,
)
from forensics.netaddr import V4_MAPPED
from forensics.records import FlowColumns
from forensics.store import CaptureMeta, Case
from forensics.store.flow_table import flow_columns_table, flow_record_table, table_records

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
if not (CORPUS / "MANIFEST.tsv").is_file():
    raise RuntimeError(f"{CORPUS} is missing: the flow tests need ../shared/corpus next to the project")


def manifest() -> list[dict]:
    """Rows of the corpus MANIFEST.tsv."""
    with open(CORPUS / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def pairs() -> list[dict]:
    """Rows of the corpus PAIRS.tsv."""
    with open(CORPUS / "PAIRS.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def udp_datagrams(path: Path):
    """(frame, ts_us, src_ip, dst_ip, sport, dport, payload) of every IPv4/IPv6 UDP packet of a capture."""
    with open(path, "rb") as f:
        reader = dpkt.pcap.UniversalReader(f)
        for frame, (ts, buf) in enumerate(reader, start=1):
            try:
                eth = dpkt.ethernet.Ethernet(buf)
            except (dpkt.UnpackError, IndexError):
                continue
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP):
                src, dst = V4_MAPPED | int.from_bytes(ip.src, "big"), V4_MAPPED | int.from_bytes(ip.dst, "big")
            elif isinstance(ip, dpkt.ip6.IP6):
                src, dst = int.from_bytes(ip.src, "big"), int.from_bytes(ip.dst, "big")
            else:
                continue
            udp = ip.data
            if not isinstance(udp, dpkt.udp.UDP):
                continue
            yield frame, int(round(float(ts) * 1_000_000)), src, dst, udp.sport, udp.dport, bytes(udp.data)


def meta(path: Path, fmt: str = "pcap") -> CaptureMeta:
    data = path.read_bytes()
    return CaptureMeta(str(path), hashlib.sha256(data).hexdigest(), len(data), fmt)


def import_capture(case: Case, path: Path) -> dict:
    """Import the export datagrams of one capture in its own transaction; the collector's stats."""
    with case.importing(meta(path)) as writer:
        collector = ExportCollector(writer, str(path))
        for frame, ts, src, dst, sport, dport, payload in udp_datagrams(path):
            if looks_like_export(payload):
                collector.feed(frame, ts, src, dst, sport, dport, payload)
        return collector.finish()


def import_file(case: Case, path: Path, fmt: str) -> dict:
    """Import one flow file through import_flow_file in its own transaction."""
    with case.importing(meta(path, fmt)) as writer:
        return import_flow_file(writer, str(path), fmt, None)


def line_records(read_lines, path: Path) -> tuple[list[dict], Counter]:  # noqa: ANN001 - a textflows reader
    """What a line-at-a-time reader (textflows.read_*) makes of a whole file: its records as the store's rows
    (flow_table's form), and the reasons of the invalid ones."""
    recs = list(read_lines(_counted_lines(str(path), [0]), str(path)))
    good = [r for r in recs if "invalid" not in r]
    return (table_records(flow_record_table(good)[0]) if good else []), Counter(r["invalid"] for r in recs
                                                                                if "invalid" in r)


def column_records(read_blocks, path: Path, slow: list[int] | None = None) -> tuple[list[dict], Counter, int]:  # noqa: ANN001
    """The same of a column reader (forensics/readers/*_columns.py) over _line_blocks: (records, invalid reasons,
    blocks read as columns); `slow` gets the count of records read a line at a time."""
    out: list[dict] = []
    bad: Counter = Counter()
    columns = 0
    for block in read_blocks(_line_blocks(str(path), [0])):
        if isinstance(block, FlowColumns):
            columns += 1
            out += table_records(flow_columns_table(block)[0])
        else:
            if slow is not None:
                slow[0] += len(block)
            bad.update(r["invalid"] for r in block if "invalid" in r)
            good = [r for r in block if "invalid" not in r]
            out += table_records(flow_record_table(good)[0]) if good else []
    return out, bad, columns


def assert_odd_lines_read_alike(read_lines, read_blocks, path: Path, odd: int,  # noqa: ANN001 - readers
                                most_fast: bool = True) -> None:
    """A file with `odd` odd lines among good ones: the column reader gives the line reader's records and
    invalid reasons, reads some blocks as columns, and reads a line at a time only the odd lines' runs
    (`most_fast`: those runs are under half the records)."""
    from forensics.readers.line_runs import SPLIT_LINES

    expected, expected_bad = line_records(read_lines, path)
    slow = [0]
    got, bad, columns = column_records(read_blocks, path, slow)
    assert (got, bad) == (expected, expected_bad)
    assert expected_bad and columns >= 2
    assert slow[0] <= 2 * odd * SPLIT_LINES  # the odd lines' runs only
    if most_fast:
        assert 2 * odd * SPLIT_LINES < len(expected) / 2
