"""Suricata eve.json read a run of lines at a time into columns (forensics/readers/eve_columns.py) gives the
records of the line-at-a-time reader (textflows.read_suricata_eve), value for value and in order."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from flowcase import assert_odd_lines_read_alike, column_records, line_records

from forensics.ingest import flow_exports
from forensics.readers import eve_columns, textflows


def events(n: int, seed: int = 1) -> list[dict]:
    """flow and netflow events of every kind the reader distinguishes, among alert, dns and stats events."""
    rnd = random.Random(seed)
    out: list[dict] = []
    for i in range(n):
        kind = rnd.choice(["flow", "flow", "flow", "netflow", "alert", "dns", "stats"])
        v6 = rnd.random() < 0.25
        src = f"2001:db8::{rnd.randrange(1, 900):x}" if v6 else f"10.0.{rnd.randrange(8)}.{rnd.randrange(1, 255)}"
        dst = f"2001:db8:5::{rnd.randrange(1, 90):x}" if v6 else f"198.51.100.{rnd.randrange(1, 255)}"
        proto = rnd.choice(["TCP", "UDP", "ICMP", "IPv6-ICMP" if v6 else "ICMP", "SCTP", "254"])
        zone = rnd.choice(["+0000", "+0100", "Z", "-05:30"])
        t0 = f"2024-05-01T10:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}.{rnd.randrange(10**6):06d}{zone}"
        t1 = f"2024-05-01T11:{rnd.randrange(60):02d}:{rnd.randrange(60):02d}.{rnd.randrange(10**6):06d}{zone}"
        ev: dict = {"timestamp": t0, "flow_id": i, "event_type": kind, "src_ip": src, "dest_ip": dst, "proto": proto}
        if proto in ("TCP", "UDP", "SCTP"):
            ev["src_port"], ev["dest_port"] = rnd.randrange(1024, 65536), rnd.choice([53, 80, 443])
        if proto in ("ICMP", "IPv6-ICMP"):
            ev["icmp_type"], ev["icmp_code"] = rnd.choice([(8, 0), (0, 0), (3, 1), (128, 0)])
            if rnd.random() < 0.5:
                ev["response_icmp_type"], ev["response_icmp_code"] = 0, 0
        vlan = rnd.choice([None, [], [30], [30, 7]])
        if vlan is not None:
            ev["vlan"] = vlan
        if proto == "TCP" and rnd.random() < 0.8:
            ev["tcp"] = {"tcp_flags": rnd.choice(["1b", "02", "1f", ""]), "tcp_flags_ts": "1b",
                         "tcp_flags_tc": rnd.choice(["1a", "12", "0"]), "syn": True, "state": "closed"}
        if kind == "flow":
            ev["flow"] = {"pkts_toserver": rnd.randrange(1, 50), "pkts_toclient": rnd.choice([0, 0, 3, 4000]),
                          "bytes_toserver": rnd.randrange(60, 9000), "bytes_toclient": rnd.randrange(0, 90000),
                          "start": t0, "end": t1, "age": 3, "state": "closed", "reason": "timeout", "alerted": False}
        elif kind == "netflow":
            ev["netflow"] = {"pkts": rnd.randrange(1, 90), "bytes": rnd.randrange(60, 9000), "start": t0, "end": t1,
                             "age": 2, "min_ttl": 60, "max_ttl": 64}
        elif kind == "alert":
            ev["alert"] = {"signature_id": 2100498, "signature": "GPL ATTACK_RESPONSE id check returned root"}
            ev["flow"] = {"pkts_toserver": 3, "pkts_toclient": 2, "bytes_toserver": 300, "bytes_toclient": 200,
                          "start": t0}
        elif kind == "dns":
            ev["dns"] = {"type": "query", "rrname": "example.org", "answers": [{"rdata": "192.0.2.1"}]}
        else:
            ev = {"timestamp": t0, "event_type": "stats", "stats": {"uptime": i, "capture": {"kernel_packets": 9}}}
        out.append(ev)
    return out


def by_lines(path: Path) -> tuple[list[dict], Counter]:
    return line_records(textflows.read_suricata_eve, path)


def by_columns(path: Path, slow: list[int] | None = None) -> tuple[list[dict], Counter, int]:
    return column_records(eve_columns.read_suricata_eve_columns, path, slow)


def test_columns_give_the_records_of_the_line_reader(tmp_path):
    path = tmp_path / "eve.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in events(3000)))
    expected, expected_bad = by_lines(path)
    got, bad, columns = by_columns(path)
    assert columns == 1 and not bad and not expected_bad
    assert got == expected
    kinds = Counter((r["ip_version"], r["ip_proto"], r["vlan"] is not None, r["tcp_flags"] is not None)
                    for r in expected)
    assert kinds[(6, 58, True, False)] and kinds[(4, 1, False, False)] and kinds[(4, 6, True, True)], kinds
    assert len({r["record_pos"] for r in expected}) < len(expected)  # two-way flows give two records


@pytest.mark.parametrize("block", [1, 300, 4096])
def test_any_block_size_gives_the_same_records(tmp_path, monkeypatch, block):
    path = tmp_path / "eve.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in events(200, seed=2)))
    expected = by_lines(path)
    monkeypatch.setattr(flow_exports, "LINE_BLOCK", block)
    assert by_columns(path)[:2] == expected


def test_odd_lines_are_read_by_the_line_reader_with_the_same_outcome(tmp_path):
    good = [e for e in events(6000, seed=3) if e["event_type"] in ("flow", "netflow")]

    def edit(ev: dict, change: dict) -> str:
        ev = json.loads(json.dumps(ev))
        for key, value in change.items():
            place, name = (ev[key.split(".")[0]], key.split(".")[1]) if "." in key else (ev, key)
            if value is ...:
                place.pop(name, None)
            else:
                place[name] = value
        return json.dumps(ev) + "\n"

    flows = [e for e in good if e["event_type"] == "flow"]
    odd = ["\n", "[1]\n", "{broken\n", edit(flows[0], {"src_port": "80"}), edit(flows[1], {"flow.end": ...}),
           edit(flows[2], {"src_ip": None}), edit(flows[3], {"dest_ip": ...}),
           edit(flows[4], {"flow.pkts_toclient": -1}),
           edit(flows[5], {"tcp": {"tcp_flags_ts": "zz"}}), edit(flows[6], {"tcp": {"tcp_flags_ts": "0x1b"}}),
           edit(flows[7], {"flow.start": "2024-05-01T10:00:00.123456789+0000"}), edit(flows[8], {"proto": 6}),
           edit(flows[9], {"flow.pkts_toserver": ...}), edit(flows[10], {"flow": None}),
           edit(flows[11], {"event_type": ...}), edit(flows[12], {"tcp": "x"}), edit(flows[13], {"vlan": 5})]
    body = "".join(json.dumps(e) + "\n" for e in good[20:100])
    for k, o in enumerate(odd):
        body += o + "".join(json.dumps(e) + "\n" for e in good[100 + 250 * k:350 + 250 * k])
    path = tmp_path / "eve.json"
    path.write_text(body)
    assert_odd_lines_read_alike(textflows.read_suricata_eve, eve_columns.read_suricata_eve_columns, path, len(odd))
