"""The mac_addresses report: the busiest source MACs with the IPs behind each, and IP-to-MAC changes in ARP.

A generated ARP-spoofing capture (the events are known from its construction) goes through every output
format; on corpus captures tshark is the oracle: frames per eth.src, and the frame its ARP dissector first flags
as a duplicate address claim ("arp.duplicate-address-detected") is the report's first change of that address.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import json
import subprocess

import pytest

from forensics.ingest import import_paths
from forensics.reports.runner import run_report
from forensics.store import Case
from tests import builders as b
from tests.cli.test_info_link import (
    ATTACKER,
    GATEWAY,
    VICTIM,
    _arp,
    _arp_captures,
    _decodes_arp,
    _spoof_capture,
    _tshark_duplicates,
)
from tests.inprocess import cli


def _forensics(*args: str) -> subprocess.CompletedProcess:
    """In-process (tests.inprocess.cli): these calls check what the command answers, each one a success."""
    return cli(*args)


@pytest.fixture(scope="module")
def spoof_case(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spoof")
    cap, db = folder / "spoof.pcap", folder / "case.duckdb"
    _spoof_capture(cap)
    run = _forensics("import", "--quiet", "--db", str(db), str(cap))
    assert run.returncode == 0, run.stderr
    return cap, db


def _section(envelope: dict, name: str) -> dict:
    sections = envelope["response"]["result"]["data"]["sections"]
    return next(s for s in sections if s["name"] == name)


def test_spoofing_capture_in_json(spoof_case):
    cap, db = spoof_case
    run = _forensics("report", "mac_addresses", "--db", str(db), "--format", "json")
    assert run.returncode == 0, run.stderr
    envelope = json.loads(run.stdout)
    changes = _section(envelope, "ip_mac_changes")
    rows = [dict(zip(changes["dimensions"], names, strict=True)) for names in changes["items"].values()]
    # the construction: frames 4 (attacker answers for the gateway), 6 (the gateway again), 7 (the attacker
    # claims the victim's address); two MACs claimed each address
    assert [(r["ip"], r["old_mac"], r["new_mac"], r["frame"], r["arp_op"]) for r in rows] == [
        ("10.0.0.1", GATEWAY, ATTACKER, "1:4", "reply"), ("10.0.0.1", ATTACKER, GATEWAY, "1:6", "reply"),
        ("10.0.0.5", VICTIM, ATTACKER, "1:7", "reply")]
    assert rows[0]["ts"] == "1970-01-01T00:00:02.000000Z"
    assert rows[0]["old_mac_last_ts"] == "1970-01-01T00:00:01.100000Z"
    assert [t["macs"] for t in changes["table"].values()] == [2, 2, 2]
    first = {}
    for r in rows:
        first.setdefault(r["ip"], int(r["frame"].split(":")[1]))
    assert first == _tshark_duplicates(cap)

    macs = _section(envelope, "macs")
    table = {macs["items"][k][0]: (macs["items"][k][1], v) for k, v in macs["table"].items()}
    # frames sent: gateway 3 (2 ARP + the routed TCP packet), attacker 3 ARP, victim 2 (1 ARP + IGMP)
    assert {m: (v["packets"], v["arp_packets"]) for m, (_, v) in table.items()} == {
        GATEWAY: (3, 2), ATTACKER: (3, 3), VICTIM: (2, 1)}
    assert table[GATEWAY][0] == "10.0.0.1, 93.184.216.34" and table[GATEWAY][1]["addresses"] == 2
    assert sorted(table[ATTACKER][0].split(", ")) == ["10.0.0.1", "10.0.0.5"]
    # frame bytes: the ARP frames are padded to 60, the TCP one is 14 + 20 + 20 + 1, the IGMP one 14 + 20 + 16
    assert table[ATTACKER][1]["frame_bytes"] == 180 and table[GATEWAY][1]["frame_bytes"] == 60 * 2 + 55
    assert table[VICTIM][1]["frame_bytes"] == 60 + 50


def test_other_formats_and_limits(spoof_case):
    _, db = spoof_case
    text = _forensics("report", "mac_addresses", "--db", str(db), "--format", "table",
                      "--param", "top=1", "--param", "change_limit=1")
    assert text.returncode == 0, text.stderr
    assert "[ip_mac_changes]" in text.stdout and f"{GATEWAY}  {ATTACKER}" in text.stdout
    assert ATTACKER not in text.stdout.split("[ip_mac_changes]")[0]  # top=1: only the gateway (tie, lower MAC)
    assert text.stdout.count("(1 item)\n") == 2
    out = _forensics("report", "mac_addresses", "--db", str(db), "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["new_mac"] for r in rows if r["section"] == "ip_mac_changes"} == {ATTACKER, GATEWAY}
    assert sum(1 for r in rows if r["section"] == "macs" and not r["bin"]) == 3
    html = _forensics("report", "mac_addresses", "--db", str(db), "--format", "html")
    assert html.returncode == 0 and "<html" in html.stdout.lower() and ATTACKER in html.stdout


def _macs(run: subprocess.CompletedProcess) -> dict[str, int]:
    """mac -> frames over the window, from mac_addresses' JSON."""
    assert run.returncode == 0, run.stderr
    section = _section(json.loads(run.stdout), "macs")
    return {names[0]: int(section["total"][key][0]) for key, names in section["items"].items()}


def test_frames_without_ip_traffic(tmp_path):
    """A capture of ARP frames only: the IP reports are empty (exit 0, a note saying why), not an error, and
    mac_addresses without --from/--to counts every frame; in a capture with IP traffic between ARP frames hours
    before and after it, mac_addresses' window still covers them all and the IP reports keep the IP traffic's."""
    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    frames = [(t0, _arp(1, VICTIM, "10.0.0.5", "00:00:00:00:00:00", "10.0.0.1")),
              (t0 + 0.5, _arp(2, GATEWAY, "10.0.0.1", VICTIM, "10.0.0.5")),
              (t0 + 9000.0, _arp(2, ATTACKER, "10.0.0.1", VICTIM, "10.0.0.5")),
              (t0 + 9000.5, _arp(2, ATTACKER, "10.0.0.1", VICTIM, "10.0.0.5"))]
    arp_only, db = tmp_path / "arp.pcap", tmp_path / "arp.duckdb"
    arp_only.write_bytes(b.pcap_file(frames))
    assert _forensics("import", "--quiet", "--db", str(db), str(arp_only)).returncode == 0
    talkers = _forensics("report", "top_talkers", "--db", str(db), "--json")
    assert talkers.returncode == 0, talkers.stderr
    data = json.loads(talkers.stdout)["response"]["result"]["data"]
    assert data["sections"][0]["items"] == {}
    assert any("no IP traffic" in note for note in data["notes"]), data["notes"]
    assert (data["datetime_start"], data["datetime_end"], data["binning"]) == \
        ("2024-01-01T00:00:00Z", "2024-01-01T02:35:00Z", "packet-time")
    assert _macs(_forensics("report", "mac_addresses", "--db", str(db), "--json")) == \
        {VICTIM: 1, GATEWAY: 1, ATTACKER: 2}

    ip = b.eth(0x0800, b.ipv4("93.184.216.34", "10.0.0.5", 6, b.tcp(443, 50000, b.ACK, b"x")), src=GATEWAY,
               dst=VICTIM)
    mixed, db2 = tmp_path / "mixed.pcap", tmp_path / "mixed.duckdb"
    mixed.write_bytes(b.pcap_file([*frames[:2], (t0 + 4500.0, ip), *frames[2:]]))
    assert _forensics("import", "--quiet", "--db", str(db2), str(mixed)).returncode == 0
    assert _macs(_forensics("report", "mac_addresses", "--db", str(db2), "--json")) == \
        {VICTIM: 1, GATEWAY: 2, ATTACKER: 2}
    talkers = _forensics("report", "top_talkers", "--db", str(db2), "--json")
    data = json.loads(talkers.stdout)["response"]["result"]["data"]
    assert (data["datetime_start"], data["datetime_end"], data["notes"]) == \
        ("2024-01-01T01:15:00Z", "2024-01-01T01:20:00Z", [])


@pytest.mark.oracle
def test_corpus_report_equals_tshark(tmp_path):
    checked = 0
    for i, path in enumerate(p for p in _arp_captures() if _decodes_arp(p)):  # only these need a case
        if checked >= 3:
            break
        with Case.open(tmp_path / f"c{i}.duckdb") as case:
            import_paths(case, [str(path)])
            lo, hi, arps = case.con.execute("SELECT min(ts), max(ts), count(arp_op) FROM packets").fetchone()
            if not arps:
                continue
            result = run_report(case, "mac_addresses", {
                "from": lo.isoformat() + "Z", "to": (hi + dt.timedelta(seconds=1)).isoformat() + "Z",
                "top": 1000, "change_limit": 100000})
        sections = {s.name: s for s in result.sections}
        packets = {item.names[0]: int(item.values[0]) for item in sections["macs"].items}
        tshark = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f", "-e",
                                 "eth.src"], capture_output=True, text=True, check=True).stdout.split()
        assert packets == dict(collections.Counter(tshark)), path
        first: dict[str, int] = {}
        for item in sections["ip_mac_changes"].items:
            first.setdefault(item.names[1], int(item.names[6].split(":")[1]))
        assert first == _tshark_duplicates(path), path
        checked += 1
    assert checked >= 3
