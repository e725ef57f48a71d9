"""Zeek TSV conn.logs read a run of lines at a time into columns (forensics/readers/zeek_columns.py) give the
records of the line-at-a-time reader (textflows.read_zeek_tsv), value for value and in order, and refuse the
same files with the same message."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from flowcase import assert_odd_lines_read_alike, column_records, line_records

from forensics.errors import InputError
from forensics.ingest import flow_exports
from forensics.ingest.flow_exports import _counted_lines, _line_blocks
from forensics.readers import textflows, zeek_columns

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
          "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
          "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"]


def header(fields: list[str] = FIELDS, unset: str = "-", empty: str = "(empty)") -> str:
    types = "\t".join(["string"] * len(fields))
    return (f"#separator \\x09\n#set_separator\t,\n#empty_field\t{empty}\n#unset_field\t{unset}\n#path\tconn\n"
            f"#open\t2024-05-01-10-00-00\n#fields\t" + "\t".join(fields) + f"\n#types\t{types}\n")


def rows(n: int, seed: int = 7) -> list[dict]:
    """Connections of every kind the reader distinguishes: IPv4 and IPv6, TCP, UDP, ICMP (and ICMP on IPv6),
    unset ports, durations and counts, one-way and two-way."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        v6 = rnd.random() < 0.2
        orig = f"2001:db8::{rnd.randrange(1, 5000):x}" if v6 else \
            f"10.{rnd.randrange(4)}.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        resp = f"2001:db8:1::{rnd.randrange(1, 50):x}" if v6 else f"192.0.2.{rnd.randrange(1, 255)}"
        proto = rnd.choice(["tcp", "tcp", "udp", "icmp", "unknown_transport"])
        resp_pkts = rnd.choice([0, 0, 1, 7, 1500])
        out.append({
            "ts": f"{1714557600 + i * 0.37 + rnd.random():.6f}", "uid": f"C{i:x}", "id.orig_h": orig,
            "id.orig_p": str(rnd.choice([8, 0, 3, 40000, 53, 65535])), "id.resp_h": resp,
            "id.resp_p": rnd.choice(["0", "443", "53", "-", "1"]), "proto": proto, "service": rnd.choice(["-", "dns"]),
            "duration": rnd.choice(["-", "0.000123", f"{rnd.random() * 100:.6f}", "3"]), "orig_bytes": "10",
            "resp_bytes": "(empty)", "conn_state": "SF", "local_orig": "-", "local_resp": "-", "missed_bytes": "0",
            "history": "ShADadFf", "orig_pkts": str(rnd.randrange(0, 9000)), "orig_ip_bytes": rnd.choice(["-", "4200"]),
            "resp_pkts": str(resp_pkts), "resp_ip_bytes": str(resp_pkts * 60), "tunnel_parents": "(empty)"})
    return out


def line(row: dict, fields: list[str] = FIELDS) -> str:
    return "\t".join(row[f] for f in fields) + "\n"


def by_lines(path: Path) -> tuple[list[dict], Counter]:
    return line_records(textflows.read_zeek_tsv, path)


def by_columns(path: Path, slow: list[int] | None = None) -> tuple[list[dict], Counter, int]:
    return column_records(zeek_columns.read_zeek_tsv_columns, path, slow)


@pytest.fixture(scope="module")
def plain_log(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("zeek") / "conn.log"
    path.write_text(header() + "".join(line(r) for r in rows(3000)) + "#close\t2024-05-01-11-00-00\n")
    return path


def test_columns_give_the_records_of_the_line_reader(plain_log):
    expected, expected_bad = by_lines(plain_log)
    got, bad, columns = by_columns(plain_log)
    assert columns == 1 and not bad and not expected_bad
    assert got == expected
    kinds = Counter((r["ip_version"], r["ip_proto"]) for r in expected)
    assert kinds[(6, 58)] and kinds[(4, 1)] and kinds[(4, 6)] and kinds[(6, 17)] and kinds[(4, None)], kinds
    assert len(expected) > 3000  # two-way connections give two records


@pytest.mark.parametrize("block", [1, 97, 4096])
def test_any_block_size_gives_the_same_records(plain_log, monkeypatch, block):
    expected = by_lines(plain_log)
    monkeypatch.setattr(flow_exports, "LINE_BLOCK", block)
    got, bad, _ = by_columns(plain_log)
    assert (got, bad) == expected


def test_odd_lines_are_read_by_the_line_reader_with_the_same_outcome(tmp_path):
    good = rows(4000, seed=3)
    odd = [
        "\n",  # an empty line
        "1714557600.5\tCx\t10.0.0.1\t80\n",  # too few fields
        line({**good[0], "ts": "2024-05-01T10:00:00Z"}),  # an ISO time
        line({**good[1], "ts": "-"}),  # no time
        line({**good[2], "id.orig_p": "80.0"}),
        line({**good[3], "orig_pkts": "1e3"}),
        line({**good[4], "duration": "-1.5"}),
        line({**good[5], "id.orig_h": "010.0.0.1"}).replace("\n", "\r\n"),
        line({**good[6], "proto": "ICMP"}),
    ]
    fields2 = [f for f in FIELDS if f not in ("duration", "resp_ip_bytes")][::-1]  # a second log, other columns
    body = header() + "".join(line(r) for r in good[7:100])
    for k, o in enumerate(odd):  # each odd line among 300 good ones: the runs around it are read as columns
        body += o + "".join(line(r) for r in good[100 + 300 * k:400 + 300 * k])
    body += header(fields2, unset="NONE") + "".join(line({**r, "id.resp_p": "NONE"}, fields2) for r in good[3000:])
    path = tmp_path / "conn.log"
    path.write_text(body)
    assert_odd_lines_read_alike(textflows.read_zeek_tsv, zeek_columns.read_zeek_tsv_columns, path, len(odd))


def test_lines_before_the_fields_header(tmp_path):
    path = tmp_path / "conn.log"
    path.write_text(line(rows(1)[0]) + header() + line(rows(2)[1]))
    assert by_columns(path)[:2] == by_lines(path)


def test_a_gzip_log_reads_as_the_plain_one(tmp_path, plain_log):
    path = tmp_path / "conn.log.gz"
    path.write_bytes(gzip.compress(plain_log.read_bytes()))
    assert by_columns(path)[:2] == by_lines(plain_log)


@pytest.mark.parametrize("tail", [b"\n", b""])
def test_a_line_too_long_refuses_the_file_as_the_line_reader_does(tmp_path, monkeypatch, tail):
    monkeypatch.setattr(flow_exports, "MAX_LINE", 2000)
    monkeypatch.setattr(flow_exports, "LINE_BLOCK", 700)
    head = (header() + "".join(line(r) for r in rows(5))).encode()
    path = tmp_path / "conn.log"
    path.write_bytes(head + b"x" * 2000 + tail)
    with pytest.raises(InputError) as lines:
        list(_counted_lines(str(path), [0]))
    with pytest.raises(InputError) as blocks:
        list(_line_blocks(str(path), [0]))
    assert str(blocks.value) == str(lines.value) and blocks.value.offset == lines.value.offset == len(head)
    path.write_bytes(head + b"x" * 1998 + b"\n" + head)  # one byte shorter: a line like any other
    assert len(list(_counted_lines(str(path), [0]))) == len(b"".join(list(_line_blocks(str(path), [0]))).splitlines())


# ---- JSON lines ------------------------------------------------------------------------------------------------

_NUMBERS = {"id.orig_p", "id.resp_p", "orig_bytes", "missed_bytes", "orig_pkts", "orig_ip_bytes", "resp_pkts",
            "resp_ip_bytes"}


def json_line(row: dict, iso: bool = False) -> str:
    """A row as Zeek's JSON writer prints it: unset fields left out, counts and ports as numbers, the time as
    seconds or (JSON::TS_ISO8601) as text."""
    out: dict = {}
    for k, v in row.items():
        if v in ("-", "(empty)"):
            continue
        if k == "ts":
            out[k] = (dt.datetime.fromtimestamp(float(v), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                      if iso else float(v))
        elif k == "duration":
            out[k] = float(v)
        elif k in _NUMBERS:
            out[k] = int(v)
        else:
            out[k] = v
    return json.dumps(out) + "\n"


def json_by_lines(path: Path) -> tuple[list[dict], Counter]:
    return line_records(textflows.read_zeek_json, path)


def json_by_columns(path: Path, slow: list[int] | None = None) -> tuple[list[dict], Counter, int]:
    return column_records(zeek_columns.read_zeek_json_columns, path, slow)


@pytest.mark.parametrize("iso", [False, True])
def test_json_columns_give_the_records_of_the_line_reader(tmp_path, iso):
    path = tmp_path / "conn.json"
    path.write_text("".join(json_line(r, iso) for r in rows(3000, seed=11)))
    expected, expected_bad = json_by_lines(path)
    got, bad, columns = json_by_columns(path)
    assert columns == 1 and not bad and not expected_bad
    assert got == expected and len(expected) > 3000


@pytest.mark.parametrize("block", [1, 97, 4096])
def test_json_any_block_size_gives_the_same_records(tmp_path, monkeypatch, block):
    path = tmp_path / "conn.json"
    path.write_text("".join(json_line(r) for r in rows(300, seed=5)))
    expected = json_by_lines(path)
    monkeypatch.setattr(flow_exports, "LINE_BLOCK", block)
    assert json_by_columns(path)[:2] == expected


def test_json_odd_lines_are_read_by_the_line_reader_with_the_same_outcome(tmp_path):
    good = rows(4000, seed=13)

    def edit(row: dict, **changes: object) -> str:
        obj = json.loads(json_line(row))
        obj.update(changes)
        return json.dumps({k: v for k, v in obj.items() if v is not ...}) + "\n"

    odd = ["\n", "   \n", "[1, 2]\n", "not json\n", edit(good[0], **{"id.orig_p": "80"}), edit(good[1], ts=None),
           edit(good[2], **{"id.orig_h": ...}), edit(good[3], orig_pkts=-4),
           edit(good[4], ts="2024-05-01T10:00:00+01:00"),
           edit(good[5], orig_ip_bytes=1.5), edit(good[6], proto=6), edit(good[7], duration="0.5"),
           edit(good[8], **{"id.resp_h": None})]
    body = "".join(json_line(r) for r in good[10:100])
    for k, o in enumerate(odd):
        body += o + "".join(json_line(r) for r in good[100 + 280 * k:380 + 280 * k])
    path = tmp_path / "conn.json"
    path.write_text(body)
    assert_odd_lines_read_alike(textflows.read_zeek_json, zeek_columns.read_zeek_json_columns, path, len(odd))
