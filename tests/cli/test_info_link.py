"""`forensics info`: the link-layer view (busiest MACs with the IPs behind each, IP-to-MAC changes in ARP),
ARP counted as decoded, IGMP by name. tshark is the oracle on the corpus: frames per eth.src, and the frame
where its ARP dissector first flags a duplicate IP address ("arp.duplicate-address-detected": the first claim of
an address by another MAC than the first one) is our first IP-to-MAC change of that address."""

from __future__ import annotations

import collections
import ipaddress
import json
import os
import shutil
import subprocess

import pytest

from forensics.ingest import import_paths
from forensics.readers.capture import CaptureReader
from forensics.readers.sniff import sniff
from forensics.store import Case
from forensics.store.info import case_info
from tests import builders as b
from tests.conftest import corpus_path, corpus_rows, corpus_sample
from tests.inprocess import cli

GATEWAY, ATTACKER, VICTIM = "00:00:5e:00:01:01", "de:ad:be:ef:00:01", "00:11:22:33:44:55"


def _arp(op: int, sha: str, spa: str, tha: str, tpa: str) -> bytes:
    body = (bytes.fromhex("00010800060400") + bytes([op]) + b.mac(sha) + ipaddress.ip_address(spa).packed
            + b.mac(tha) + ipaddress.ip_address(tpa).packed)
    return b.pad60(b.eth(0x0806, body, src=sha, dst=tha if op == 2 else "ff:ff:ff:ff:ff:ff"))


def _spoof_capture(path) -> None:
    """The victim asks for the gateway; the gateway answers; an attacker answers twice for the gateway, the
    gateway again, then the attacker claims the victim's address; IP traffic behind the gateway and an IGMP
    report."""
    ip = b.ipv4("93.184.216.34", "10.0.0.5", 6, b.tcp(443, 50000, b.ACK, b"x"))
    igmp = b.ipv4("10.0.0.5", "224.0.0.22", 2, bytes.fromhex("2200f9020000000104000000e00000fb"))
    path.write_bytes(b.pcap_file([
        (1.0, _arp(1, VICTIM, "10.0.0.5", "00:00:00:00:00:00", "10.0.0.1")),
        (1.1, _arp(2, GATEWAY, "10.0.0.1", VICTIM, "10.0.0.5")),
        (1.2, b.eth(0x0800, ip, src=GATEWAY, dst=VICTIM)),
        (2.0, _arp(2, ATTACKER, "10.0.0.1", VICTIM, "10.0.0.5")),
        (2.5, _arp(2, ATTACKER, "10.0.0.1", VICTIM, "10.0.0.5")),
        (3.0, _arp(2, GATEWAY, "10.0.0.1", VICTIM, "10.0.0.5")),
        (4.0, _arp(2, ATTACKER, "10.0.0.5", GATEWAY, "10.0.0.1")),
        (4.5, b.eth(0x0800, igmp, src=VICTIM, dst="01:00:5e:00:00:16")),
    ]))


def _tshark_duplicates(path) -> dict[str, int]:
    """IP -> the first frame tshark flags as a duplicate address claim."""
    exe = shutil.which("tshark")
    assert exe, "tshark is required for the oracle tests (Debian package tshark)"
    out = subprocess.run([exe, "-n", "-r", str(path), "-Y", "arp.duplicate-address-detected", "-T", "fields",
                          "-e", "frame.number", "-e", "arp.src.proto_ipv4"], capture_output=True, text=True,
                         check=True).stdout
    first: dict[str, int] = {}
    for line in out.splitlines():
        frame, ip = line.split("\t")[:2]
        first.setdefault(ip, int(frame))
    return first


def _first_changes(info: dict) -> dict[str, int]:
    first: dict[str, int] = {}
    for c in info["ip_mac_changes"]:
        first.setdefault(c["ip"], c["frame"])
    return first


def test_spoofing_shows_as_ip_to_mac_changes(tmp_path):
    cap = tmp_path / "spoof.pcap"
    _spoof_capture(cap)
    db = tmp_path / "case.duckdb"
    run = cli("import", "--quiet", "--db", str(db), str(cap))  # in-process: what the commands answer
    assert run.returncode == 0, run.stderr
    out = cli("info", "--json", "--db", str(db))
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    changes = [(c["ip"], c["old_mac"], c["new_mac"], c["frame"], c["macs_for_ip"]) for c in info["ip_mac_changes"]]
    assert changes == [("10.0.0.1", GATEWAY, ATTACKER, 4, 2), ("10.0.0.1", ATTACKER, GATEWAY, 6, 2),
                       ("10.0.0.5", VICTIM, ATTACKER, 7, 2)]
    assert _first_changes(info) == _tshark_duplicates(cap)
    macs = {m["mac"]: m for m in info["macs"]}
    assert macs[ATTACKER]["packets"] == 3 and macs[ATTACKER]["arp_packets"] == 3
    assert sorted(macs[ATTACKER]["top_ips"]) == ["10.0.0.1", "10.0.0.5"]
    assert macs[GATEWAY]["top_ips"][0] == "10.0.0.1" and "93.184.216.34" in macs[GATEWAY]["top_ips"]
    network = {(p["network"], p["protocol"]) for p in info["protocols"]}
    assert ("ARP", None) in network and ("IPv4", "IGMP") in network
    assert info["totals"]["undecoded"] == 0
    text = cli("info", "--db", str(db)).stdout
    assert f"10.0.0.1        {GATEWAY} -> {ATTACKER}" in text and "IGMP" in text and "undecoded" not in text
    only = cli("info", "--json", "--db", str(db), "--filter", f"ether src {ATTACKER}")
    assert [m["mac"] for m in json.loads(only.stdout)["macs"]] == [ATTACKER]


def _arp_captures() -> list[str]:
    """Ethernet captures up to 3000 packets, one per content; corpus_sample of them (all of them under
    FORENSICS_FULL_CORPUS=1)."""
    rows, seen = [], set()
    for row in corpus_rows():
        if (row["link_types"].startswith("ether(1)") and row["packets_capinfos"].isdigit()
                and 0 < int(row["packets_capinfos"]) <= 3000 and row["sha256"] not in seen):
            seen.add(row["sha256"])
            rows.append(row)
    return [corpus_path(row) for row in corpus_sample(rows)]


def _decodes_arp(path: str) -> bool:
    """Our decoder finds an ARP packet in the file (read only: no case). The import stores the same decoded
    column, so a capture skipped here is one the import would find no ARP in either."""
    size = os.path.getsize(path)
    reader = CaptureReader(path, sniff(path, size), size)
    return any(bool((chunk.batch["arp_op"] >= 0).any()) for chunk in reader.chunks())


@pytest.mark.oracle
def test_corpus_link_view_equals_tshark(tmp_path):
    checked = 0
    for i, path in enumerate(p for p in _arp_captures() if _decodes_arp(p)):  # only these need a case
        with Case.open(tmp_path / f"c{i}.duckdb") as case:
            import_paths(case, [str(path)])
            if not case.con.execute("SELECT count(arp_op) FROM packets").fetchone()[0]:
                continue
            info = case_info(case, mac_limit=1000, change_limit=100000)
        assert _first_changes(info) == _tshark_duplicates(path), path
        tshark = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f", "-e",
                                 "eth.src"], capture_output=True, text=True, check=True).stdout.split()
        assert {m["mac"]: m["packets"] for m in info["macs"]} == dict(collections.Counter(tshark)), path
        checked += 1
    assert checked >= 5
