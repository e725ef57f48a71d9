"""`forensics demo` end to end on a small day: the case holds what the generator put in, the pages exist.

Expected numbers come from the truth sidecar the generator wrote (its own construction).
"""

from __future__ import annotations

import json

import pytest

from forensics.netaddr import ip_to_int

PACKETS = 40_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from forensics.demo import run_demo

    messages: list[str] = []
    result = run_demo(tmp_path_factory.mktemp("demo"), progress=messages.append, packets=PACKETS)
    return result, messages


def test_outputs_exist_and_progress_names_them(demo):
    result, messages = demo
    for path in (result.pcap, result.truth, result.config, result.db, result.site, result.json):
        assert path.exists(), path
    assert result.site.name == "index.html"
    assert any(str(result.site) in m and str(result.json) in m for m in messages)


def test_case_holds_the_truth(demo):
    from forensics.store import Case

    result, _ = demo
    truth = json.loads(result.truth.read_text())
    assert result.packets == truth["packets"]
    with Case.open(result.db, read_only=True) as case:
        q = case.con.execute
        assert q("SELECT count(*), sum(wirelen) FROM packets").fetchone() == (truth["packets"], truth["wire_bytes"])
        assert q("SELECT count(*) FROM packets WHERE ip_version = 6").fetchone()[0] == truth["ipv6"]
        assert q("SELECT count(*) FROM packets WHERE vlan IS NOT NULL").fetchone()[0] == truth["vlan_tagged"]
        top = q("SELECT ip_text(src_ip), sum(wirelen) AS b FROM packets GROUP BY 1 ORDER BY b DESC, 1 LIMIT 10")
        assert [tuple(r) for r in top.fetchall()] == [(t["ip"], t["wire_bytes"]) for t in truth["top_talkers"]]
        sweep = truth["scenarios"]["sweep"]
        n = q("SELECT count(*) FROM packets WHERE src_ip = $s::UHUGEINT AND dst_port = 445 AND tcp_flags = 2",
              {"s": ip_to_int(sweep["sweeper"])}).fetchone()[0]
        assert n == sweep["syn_packets"]
        night = truth["scenarios"]["after_hours"]
        rows = q("SELECT ip_text(src_ip), ip_text(dst_ip), dst_port FROM flows WHERE ip_proto = 6 "
                 "AND (hour(first_ts) < $a OR hour(first_ts) >= $b) AND tcp_flags & 2 = 2 AND src_port <> 445",
                 {"a": truth["business_hours_utc"][0], "b": truth["business_hours_utc"][1]}).fetchall()
        assert (night["client"], night["server"], night["dst_port"]) in rows


def test_site_pages_show_the_incidents(demo):
    result, _ = demo
    truth = json.loads(result.truth.read_text())
    pages = {p.name for p in result.site.parent.glob("*.html")}
    assert {"index.html", "wannacry.html", "top_talkers.html"} <= pages
    assert truth["scenarios"]["sweep"]["sweeper"] in (result.site.parent / "wannacry.html").read_text()


def test_json_summary_has_talkers_protocols_ports(demo):
    result, _ = demo
    doc = json.loads(result.json.read_text())
    assert set(doc["reports"]) == {"top_talkers", "protocol_mix", "top_ports"}
    assert doc["packets"] == result.packets
    text = json.dumps(doc["reports"]["top_ports"])
    assert "445" in text and "443" in text


# The real command, full size (`forensics demo --json`: the JSON names the outputs, the day holds the default
# number of packets) is checked once in the suite, by the installed wheel: tests/test_packaging.py.
