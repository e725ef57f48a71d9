"""`nfdump -o csv` files read a run of lines at a time into columns (forensics/readers/nfdump_csv_columns.py)
give the records of the line-at-a-time reader (textflows.read_nfdump_csv), value for value and in order. The
CSV: nfdump's own, of nfpcapd files made from corpus captures (IPv4, IPv6, ICMP, ICMPv6)."""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from flowcase import CORPUS, assert_odd_lines_read_alike, column_records, line_records

from forensics.ingest import flow_exports
from forensics.readers import nfdump_csv_columns, textflows

UTC = dict(os.environ, TZ="UTC")
PACKETS = ["ipfixprobe/mixed.pcap", "dpkt/dns_icmp.pcap", "tcpdump/LINKTYPE_RAW_ipv6.pcap",
           "zeek/tunnels__Teredo.pcap", "zeek/ipv6-fragmented-dns.pcap"]


@pytest.fixture(scope="module")
def csv_text(tmp_path_factory) -> str:
    """nfdump's CSV of every flow nfpcapd makes of the captures, one header, one Summary."""
    out = tmp_path_factory.mktemp("nfpcapd")
    for i, name in enumerate(PACKETS):
        (out / str(i)).mkdir()
        subprocess.run(["nfpcapd", "-r", str(CORPUS / "files" / name), "-w", str(out / str(i))], check=True,
                       capture_output=True, env=UTC)
    text = subprocess.run(["nfdump", "-R", str(out), "-o", "csv"], check=True, capture_output=True, text=True,
                          env=UTC).stdout
    assert text.startswith("ts,") and "\nSummary" in text
    return text


def by_lines(path: Path) -> tuple[list[dict], Counter]:
    return line_records(textflows.read_nfdump_csv, path)


def by_columns(path: Path, slow: list[int] | None = None) -> tuple[list[dict], Counter, int]:
    return column_records(nfdump_csv_columns.read_nfdump_csv_columns, path, slow)


def test_columns_give_the_records_of_the_line_reader(tmp_path, csv_text):
    path = tmp_path / "flows.csv"
    path.write_text(csv_text)
    expected, expected_bad = by_lines(path)
    got, bad, columns = by_columns(path)
    assert columns == 1 and not bad and not expected_bad
    assert got == expected
    kinds = Counter((r["ip_version"], r["ip_proto"]) for r in expected)
    assert kinds[(4, 1)] and kinds[(6, 17)] and kinds[(4, 6)], kinds


@pytest.mark.parametrize("block", [1, 200, 4096])
def test_any_block_size_gives_the_same_records(tmp_path, monkeypatch, csv_text, block):
    path = tmp_path / "flows.csv"
    path.write_text(csv_text)
    expected = by_lines(path)
    monkeypatch.setattr(flow_exports, "LINE_BLOCK", block)
    assert by_columns(path)[:2] == expected


def test_odd_lines_are_read_by_the_line_reader_with_the_same_outcome(tmp_path, csv_text):
    lines = csv_text.splitlines(keepends=True)
    head, data = lines[0], [ln for ln in lines[1:] if ln[:1].isdigit()]
    tail = lines[lines.index("Summary\n"):]
    data = (data * (3000 // len(data) + 1))[:3000]
    sample = data[0].rstrip("\n").split(",")

    def edit(**changes: str) -> str:
        cols = head.rstrip("\n").split(",")
        fields = dict(zip(cols, sample, strict=False))
        fields.update(changes)
        return ",".join(fields[c] for c in cols) + "\n"

    odd = ["\n", "   \n", "2016-09-06 07:40:51,short\n", edit(ts="yesterday"), edit(td="", te="bad"),
           edit(ipkt="1.5"), edit(pr="ICMP", dp="3.1"), edit(pr="TCP", dp="3.1"), edit(sp="-"),
           edit(nh="0.0.0.0", ra="::"), edit(svln="0"), edit(sa="010.0.0.1"), data[1].rstrip("\n") + ",x,y\n"]
    body = head + "".join(data[:90])
    for k, o in enumerate(odd):
        body += o + "".join(data[90 + 200 * k:290 + 200 * k])
    body += "".join(tail) + data[5]  # after the Summary: never read
    path = tmp_path / "flows.csv"
    path.write_text("some banner before the header\n" + body)
    assert_odd_lines_read_alike(textflows.read_nfdump_csv, nfdump_csv_columns.read_nfdump_csv_columns, path, len(odd),
                                most_fast=False)


def test_no_matching_flows(tmp_path):
    path = tmp_path / "flows.csv"
    path.write_text("ts,te,td,sa,da,sp,dp,pr,flg,ipkt,ibyt\nNo matching flows\n")
    assert by_columns(path)[:2] == by_lines(path) == ([], Counter())
