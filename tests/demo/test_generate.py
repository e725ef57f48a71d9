"""The demo generator: deterministic bytes, valid frames, and a truth sidecar that tshark confirms.

The oracle is tshark (with every checksum check on) reading the written file; the expected numbers
come from the generator's own plan (the truth sidecar), never typed in here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from forensics.demo.dns import ROGUE_ZONE, query_text
from forensics.demo.generate import BUSINESS_HOURS, bench_chunks, write_bench_pcap, write_day

SMALL = 30_000  # a small day: every scenario, a fraction of the background


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    return write_day(tmp_path_factory.mktemp("day"), packets=SMALL)


TSHARK_FIELDS = [
    "frame.time_epoch", "frame.len", "vlan.id", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto",
    "ipv6.nxt", "tcp.srcport", "tcp.dstport", "tcp.flags", "udp.dstport", "dns.flags.response", "dns.qry.name",
    "ip.checksum.status", "tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status",
    "icmpv6.checksum.status", "_ws.malformed",
]


@pytest.fixture(scope="module")
def rows(day):
    if shutil.which("tshark") is None:
        raise RuntimeError("tshark is the oracle of these tests: apt-get install tshark")
    cmd = ["tshark", "-r", str(day.pcap), "-n", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
           "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "occurrence=f"]
    for f in TSHARK_FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [dict(zip(TSHARK_FIELDS, line.split("\t"), strict=True)) for line in out.splitlines()]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, day):
    again = write_day(tmp_path / "again", packets=SMALL)
    assert sha256(again.pcap) == sha256(day.pcap) == day.truth["sha256"]
    assert again.truth_path.read_text() == day.truth_path.read_text()
    other = write_day(tmp_path / "other", seed=8, packets=SMALL)
    assert other.truth["sha256"] != day.truth["sha256"]


def test_truth_sidecar_is_json_next_to_the_capture(day):
    assert day.truth_path == day.pcap.with_name("office_day.truth.json")
    doc = json.loads(day.truth_path.read_text())
    assert doc["packets"] == SMALL
    assert doc["size_bytes"] == day.pcap.stat().st_size
    assert set(doc["scenarios"]) == {"sweep", "synflood", "rogue_dns", "after_hours"}


def test_every_frame_decodes_with_valid_checksums(rows, day):
    assert len(rows) == day.truth["packets"]
    assert not [r for r in rows if r["_ws.malformed"]]
    for field in ("ip.checksum.status", "tcp.checksum.status", "udp.checksum.status", "icmp.checksum.status",
                  "icmpv6.checksum.status"):
        statuses = Counter(r[field] for r in rows if r[field])
        assert set(statuses) == {"1"}, (field, statuses)  # 1 = good


def test_counts_match_tshark(rows, day):
    t = day.truth
    assert sum(int(r["frame.len"]) for r in rows) == t["wire_bytes"]
    assert sum(1 for r in rows if r["ipv6.src"]) == t["ipv6"]
    assert sum(1 for r in rows if r["vlan.id"]) == t["vlan_tagged"]
    assert {int(r["vlan.id"]) for r in rows if r["vlan.id"]} == set(t["vlans"])
    assert sum(1 for r in rows if r["tcp.dstport"] == "445") == t["tcp_dst_port_445"]
    assert sum(1 for r in rows if r["tcp.srcport"]) == t["tcp"]
    assert sum(1 for r in rows if r["udp.dstport"]) == t["udp"]
    assert sum(1 for r in rows if r["dns.flags.response"] in ("0", "False")) == t["dns_queries"]
    first = dt.datetime.fromisoformat(t["first_ts"]).replace(tzinfo=dt.timezone.utc).timestamp()
    assert abs(float(rows[0]["frame.time_epoch"]) - first) < 1e-6


def test_top_talkers_match_tshark(rows, day):
    by_src: Counter = Counter()
    for r in rows:
        by_src[r["ip.src"] or r["ipv6.src"]] += int(r["frame.len"])
    expected = [(x["ip"], x["wire_bytes"]) for x in day.truth["top_talkers"]]
    assert by_src.most_common(len(expected)) == expected


def syn(r):
    return r["tcp.flags"] == "0x0002"


def test_sweep(rows, day):
    f = day.truth["scenarios"]["sweep"]
    mine = [r for r in rows if r["ip.src"] == f["sweeper"] and r["tcp.dstport"] == "445"]
    assert sum(1 for r in mine if syn(r)) == f["syn_packets"]
    assert len(mine) == f["packets_from_sweeper"]
    prefix = f["target_net"].rsplit(".", 1)[0] + "."
    in_net = {r["ip.dst"] for r in mine if r["ip.dst"].startswith(prefix)}
    assert len(in_net) == f["targets_in_net"] == 254
    assert len({r["ip.dst"] for r in mine}) == f["distinct_targets"]
    answered = {r["ip.src"] for r in rows if r["ip.dst"] == f["sweeper"] and r["tcp.flags"] == "0x0012"
                and r["tcp.srcport"] == "445"}
    assert answered == set(f["open_hosts"])


def test_synflood(rows, day):
    f = day.truth["scenarios"]["synflood"]
    to_victim = [r for r in rows if r["ip.dst"] == f["victim"] and r["tcp.dstport"] == str(f["dst_port"])]
    assert sum(1 for r in to_victim if syn(r)) == f["syn_packets"]
    assert len({r["ip.src"] for r in to_victim if syn(r)}) == f["distinct_sources"]
    synack = [r for r in rows if r["ip.src"] == f["victim"] and r["tcp.flags"] == "0x0012"
              and r["tcp.srcport"] == str(f["dst_port"])]
    assert len(synack) == f["synack_packets"]


def test_rogue_dns_is_the_only_external_resolver(rows, day):
    f = day.truth["scenarios"]["rogue_dns"]
    queries = [r for r in rows if r["udp.dstport"] == "53"]
    external = [r for r in queries if r["ip.dst"] and r["ip.dst"] != day.truth["dns_server"]]
    assert {(r["ip.src"], r["ip.dst"]) for r in external} == {(f["host"], f["server"])}
    assert len(external) == f["queries"]
    assert all(r["dns.qry.name"].endswith("." + ROGUE_ZONE) for r in external)
    assert len({r["dns.qry.name"] for r in external}) == f["queries"]


def test_after_hours_connection_is_the_only_one_at_night(rows, day):
    f = day.truth["scenarios"]["after_hours"]
    start, end = BUSINESS_HOURS
    night = []
    for r in rows:
        hour = dt.datetime.fromtimestamp(float(r["frame.time_epoch"]), dt.timezone.utc).hour
        if syn(r) and not start <= hour < end:
            night.append(r)
    assert [(r["ip.src"], r["ip.dst"], r["tcp.dstport"]) for r in night] == [
        (f["client"], f["server"], str(f["dst_port"]))]
    ts = dt.datetime.fromtimestamp(float(night[0]["frame.time_epoch"]), dt.timezone.utc).replace(tzinfo=None)
    assert ts.isoformat(timespec="microseconds") == f["syn_ts"]


def test_query_text_recomputes_the_names_on_the_wire(rows):
    from forensics.demo.generate import plan_day

    plan, _ = plan_day(packets=SMALL)
    on_wire = [r["dns.qry.name"] for r in rows if r["dns.qry.name"]]
    dns = (plan.app == 1) | (plan.app == 2)
    assert [query_text(int(a)) for a in plan.aux[dns]] == on_wire


def _records(path: Path):
    data = path.read_bytes()
    assert struct.unpack_from("<IHHiIII", data) == (0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    off = 24
    while off < len(data):
        sec, usec, caplen, wirelen = struct.unpack_from("<IIII", data, off)
        yield sec * 1_000_000 + usec, caplen, wirelen
        off += 16 + caplen


def test_bench_capture_exact_count_time_order_and_deterministic(tmp_path, monkeypatch):
    import forensics.demo.generate as gen

    monkeypatch.setattr(gen, "BENCH_CHUNK", 7_000)  # several chunks in a small file
    a = write_bench_pcap(tmp_path / "a.pcap", 20_001, seed=3, digest=True)
    b = write_bench_pcap(tmp_path / "b.pcap", 20_001, seed=3)
    assert a.sha256 == sha256(a.path) == sha256(b.path) and b.sha256 is None
    assert sha256(write_bench_pcap(tmp_path / "c.pcap", 20_001, seed=4).path) != a.sha256
    recs = list(_records(a.path))
    assert len(recs) == a.packets == 20_001
    ts = [t for t, _, _ in recs]
    assert ts == sorted(ts)
    assert all(c == w and 60 <= c <= 1518 for _, c, w in recs)
    assert sum(c for _, c, _ in recs) == a.wire_bytes
    assert [len(p) for p in bench_chunks(20_001, 3)] == [7_000, 7_000, 6_001]
