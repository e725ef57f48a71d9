"""Retention (issue 13): forensics retain removes packets, then flows, keeping a 5-minute summary; reports say
per bin what they rest on; carving a pruned packet says so. On a generated capture, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb
import pytest

from forensics.config import load_config
from forensics.store import Case
from tests import builders as b
from tests.conftest import CORPUS, ROOT, copy_case
from tests.inprocess import cli

T0 = 1_473_163_200.0  # 2016-09-06T12:00:00Z (a float: builders read an int as nanoseconds)
BINS = 8  # 5-minute bins of traffic
WINDOW = ("--from", "2016-09-06T12:00:00Z", "--to", "2016-09-06T12:40:00Z", "--bin", "5min", "--unit", "bytes")
PACKETS_CUT = "2016-09-06T12:15:00Z"  # bins 0-2 lose their packets
FLOWS_CUT = "2016-09-06T12:10:00Z"  # bins 0-1 lose their flows too


def run(*args: str) -> subprocess.CompletedProcess:
    """The real process: for exit codes and stderr lines (the success paths below run in-process: cli)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("FORENSICS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def _capture() -> bytes:
    """Per 5-minute bin k, flows that start and end inside the bin (gaps beyond the 15 s idle timeout at bin
    edges): TCP from the internet into home, UDP out to 8.8.8.8, ICMP inside home, IPv6 out; and one ICMP packet
    at each end of the span. Flow-start binning then equals packet-time binning, so every bin's figures stay the
    same whatever the case holds."""
    recs = []
    for k in range(BINS):
        base = T0 + 300 * k
        for i in range(40):  # one packet every 2 s from +6 s to +84 s
            t = base + 6 + 2 * i
            host = f"10.0.0.{1 + k % 3}"
            if i % 4 == 0:
                pkt = b.ipv4("203.0.113.9", host, 6, b.tcp(443, 50000 + k, flags=0x18, payload=b"x" * (100 + i)))
            elif i % 4 == 1:
                pkt = b.ipv4(host, "8.8.8.8", 17, b.udp(40000 + k, 53, b"q" * (10 + k)))
            elif i % 4 == 2:
                pkt = b.ipv4(host, "10.0.0.200", 1, b.icmp(8, 0, b"p" * 20))
            else:
                recs.append((t, b.eth(0x86DD, b.ipv6("fd00::5", "2001:db8::1", 17, b.udp(4000 + k, 443, b"v" * 30)))))
                continue
            recs.append((t, b.eth(0x0800, pkt)))
    edge = b.eth(0x0800, b.ipv4("10.0.0.1", "10.0.0.200", 1, b.icmp(8, 0, b"edge")))
    recs = [(T0, edge), *recs, (T0 + 300 * BINS - 0.000001, edge)]  # the traffic spans every bin whole
    return b.pcap_file(recs)


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """The generated capture, and a case that imported it: built once for the module."""
    where = tmp_path_factory.mktemp("retain")
    cap = where / "a.pcap"
    cap.write_bytes(_capture())
    db = where / "case.duckdb"
    proc = cli("import", "--db", str(db), "-q", str(cap))
    assert proc.returncode == 0, proc.stderr
    return cap, db


@pytest.fixture()
def case(capture, tmp_path):
    """A copy of the imported case, the test's own (its captures row names the module's a.pcap)."""
    return copy_case(capture[1], tmp_path / "case.duckdb")


def _report(db, name: str, *args: str, command: str = "report") -> dict:
    proc = cli(command, name, "--db", str(db), "--json", *WINDOW, *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["response"]["result"]["data"]["data"]


def _counts(db) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("packet_rows", "flows")}
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        for t in ("traffic_summary", "retention", "retention_captures"):
            out[t] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in tables else 0
        return out
    finally:
        con.close()


def _sizes(db) -> list[tuple[str, int]]:
    """Each file of the case and its size (the .duckdb file, or every file of a lake folder)."""
    files = sorted(p for p in db.rglob("*") if p.is_file()) if db.is_dir() else [db]
    return [(str(f), f.stat().st_size) for f in files]


def _retain(db, *args: str) -> dict:
    proc = cli("retain", "--db", str(db), "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _bins(doc: dict) -> list[str]:
    return sorted(doc["value"])


def _by_label(doc: dict, t: str) -> dict:
    """{item label: values} of bin t; items with no traffic in the bin left out."""
    return {tuple(doc["items"][k]): v for k, v in doc["value"][t].items() if any(v)}


def test_prune_packets_then_flows_reports_say_per_bin_what_they_rest_on(case):
    before = {name: _report(case, name) for name in ("internet_summary", "protocol_mix", "top_talkers")}
    assert set(before["internet_summary"]["coverage"].values()) == {"packets"}
    assert len(_bins(before["internet_summary"])) == BINS

    packets = _retain(case, "--before", PACKETS_CUT, "--level", "packets")
    assert packets["packets"]["rows"] == 3 * 40 + 1 and packets["flows"]["rows"] == 0 and packets["bins"] == 3
    after = {name: _report(case, name) for name in before}
    for name, doc in after.items():
        cov = doc["coverage"]
        assert [cov[t] for t in _bins(doc)] == ["flows"] * 3 + ["packets"] * (BINS - 3), name
        assert doc["value"] == before[name]["value"], name  # flows wholly inside their bins: the same figures
        assert doc["total"] == before[name]["total"], name

    flows = _retain(case, "--before", FLOWS_CUT, "--level", "flows")
    assert flows["flows"]["rows"] > 0 and flows["packets"]["rows"] == 0  # the packets had gone already
    for name in ("internet_summary", "protocol_mix"):  # answered from the summary, values as before pruning
        doc = _report(case, name, command="reconstruct")
        assert [doc["coverage"][t] for t in _bins(doc)] == ["summary"] * 2 + ["flows"] + ["packets"] * (BINS - 3)
        assert doc["value"] == before[name]["value"], name
        assert doc["total"] == before[name]["total"], name
    plain = run("report", "internet_summary", "--db", str(case), "--json", "--bin", "5min", "--unit", "bytes")
    doc = json.loads(plain.stdout)["response"]["result"]["data"]["data"]  # no --from: the summary's bins shown
    assert doc["value"] == before["internet_summary"]["value"] and doc["coverage"]["2016-09-06T12:00:00Z"] == "summary"
    scoped = _report(case, "internet_summary", "--scope", "home")  # the summary has no addresses to scope
    assert [scoped["coverage"][t] for t in _bins(scoped)[:3]] == ["none", "none", "flows"]
    assert all(v is None for t in _bins(scoped)[:2] for v in scoped["value"][t].values())
    talkers = _report(case, "top_talkers", command="reconstruct")
    pruned = [t for t, level in talkers["coverage"].items() if level == "none"]
    assert pruned == sorted(before["top_talkers"]["value"])[:2]
    for t in pruned:  # every item null in a bin without data, never 0
        assert all(v is None for v in talkers["value"][t].values())
    for t in sorted(talkers["value"])[2:]:  # items ranked over what is held now: compare them by label
        assert _by_label(talkers, t) == _by_label(before["top_talkers"], t)


def test_summary_equals_the_sums_computed_before_pruning(case):
    con = duckdb.connect(str(case), read_only=True)
    expect = con.execute(  # straight from the packets, by 5-minute bin, protocol and IP version
        "SELECT time_bin(ts, 300) AS bin, ip_proto, ip_version, sum(ip_len), count(*) FROM packets "
        "WHERE ts < TIMESTAMP '2016-09-06 12:15:00' GROUP BY ALL ORDER BY ALL").fetchall()
    con.close()
    _retain(case, "--before", PACKETS_CUT, "--level", "packets")
    con = duckdb.connect(str(case), read_only=True)
    got = con.execute("SELECT bin, ip_proto, ip_version, sum(bytes), sum(packets) FROM traffic_summary "
                      "GROUP BY ALL ORDER BY ALL").fetchall()
    zones = con.execute("SELECT DISTINCT ip_proto, src_zone, dst_zone, direction FROM traffic_summary "
                        "ORDER BY ALL").fetchall()
    [(level, cutoff, rows)] = con.execute("SELECT level, cutoff, packet_rows FROM retention").fetchall()
    con.close()
    assert got == expect
    assert zones == [(1, "home", "home", "internal"), (6, "internet", "home", "in"), (17, "home", "internet", "out")]
    assert (level, cutoff.isoformat(), rows) == ("packets", "2016-09-06T12:15:00", 121)


def test_dry_run_changes_nothing_and_a_repeated_retain_removes_nothing_more(case):
    size, counts = _sizes(case), _counts(case)
    plan = _retain(case, "--before", FLOWS_CUT, "--level", "flows", "--dry-run")
    assert plan["dry_run"] and plan["packets"]["rows"] == 81 and plan["flows"]["rows"] > 0
    assert plan["captures"] == [1] and plan["bins"] == 2 and plan["packets"]["bytes_approx"] > 0
    assert (_sizes(case), _counts(case)) == (size, counts)
    done = _retain(case, "--before", FLOWS_CUT, "--level", "flows")
    assert {k: done[k] for k in ("packets", "flows", "bins")} == {k: plan[k] for k in ("packets", "flows", "bins")}
    once = _counts(case)
    assert once["packet_rows"] == counts["packet_rows"] - 81 and once["retention"] == 2
    again = _retain(case, "--before", FLOWS_CUT, "--level", "flows")
    assert again["retention_ids"] == [] and again["packets"]["rows"] == 0 and _counts(case) == once


def test_a_retain_failing_between_statements_leaves_the_case_whole(case, monkeypatch):
    from forensics import retain as retain_mod
    from forensics.store import retain as store

    counts = _counts(case)
    real = store.prune_before

    def prune_then_fail(c, table, cutoff):
        n = real(c, table, cutoff)
        if table == "flows":  # the packets, the summary and the packets' log entry are written by now
            raise KeyboardInterrupt
        return n

    monkeypatch.setattr(store, "prune_before", prune_then_fail)
    with Case.open(case) as c, pytest.raises(KeyboardInterrupt):
        retain_mod.retain(c, load_config(None, case), before=FLOWS_CUT, level="flows")
    assert _counts(case) == counts


def test_a_retain_killed_midway_leaves_the_case_whole(case, tmp_path):
    counts = _counts(case)
    script = tmp_path / "kill.py"  # kill the process between the deletion and the commit
    script.write_text(
        "import os, signal, sys\n"
        "from forensics.config import load_config\n"
        "from forensics.retain import retain\n"
        "from forensics.store import Case, retain as store\n"
        "real = store.prune_before\n"
        "def prune(c, table, cutoff):\n"
        "    n = real(c, table, cutoff)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "store.prune_before = prune\n"
        f"with Case.open({str(case)!r}) as c:\n"
        f"    retain(c, load_config(None, {str(case)!r}), before={FLOWS_CUT!r}, level='flows')\n")
    proc = subprocess.run([sys.executable, str(script)], env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == -9
    # on a lake, a part rewritten just before the kill lies in its folder unlisted: the next open sweeps it
    # (docs/lake.md, "Atomic import"); a single file's rollback is DuckDB's own
    Case.open(case, read_only=True).close()
    assert _counts(case) == counts
    assert _retain(case, "--before", FLOWS_CUT, "--level", "flows")["packets"]["rows"] == 81  # still all there


def test_a_report_after_pruning_is_not_answered_from_the_run_before(case):
    first = cli("report", "top_talkers", "--db", str(case), "--json", *WINDOW)
    assert first.returncode == 0 and "reused" not in first.stderr
    _retain(case, "--before", FLOWS_CUT, "--level", "flows")
    again = cli("report", "top_talkers", "--db", str(case), "--json", *WINDOW)
    assert again.returncode == 0 and "reused" not in again.stderr
    listed = cli("runs", "--db", str(case), "--json")
    assert [r["name"] for r in json.loads(listed.stdout)["runs"]] == ["top_talkers", "top_talkers"]
    third = cli("report", "top_talkers", "--db", str(case), "--json", *WINDOW)
    assert "reused run 2" in third.stderr


def test_carving_a_pruned_packet_says_it_was_pruned_and_when(case, tmp_path):
    _retain(case, "--before", PACKETS_CUT, "--level", "packets")
    con = duckdb.connect(str(case), read_only=True)
    old_flow, new_flow = (con.execute(f"SELECT min(flow_id) FROM flows WHERE first_ts {op} TIMESTAMP "
                                      "'2016-09-06 12:15:00' AND ip_proto = 6").fetchone()[0] for op in ("<", ">="))
    done_at = con.execute("SELECT done_at FROM retention").fetchone()[0]
    con.close()
    out = tmp_path / "o.pcap"
    gone = run("carve", "--db", str(case), "--flow", str(old_flow), "-w", str(out))
    assert gone.returncode == 1 and not out.exists()
    assert gone.stderr.count("\n") == 1 and "pruned by `forensics retain`" in gone.stderr
    assert f"on {done_at.isoformat()}Z (packets before 2016-09-06T12:15:00Z)" in gone.stderr
    held = cli("carve", "--db", str(case), "--flow", str(new_flow), "-w", str(out))
    assert held.returncode == 0 and "pruned" not in held.stderr and out.stat().st_size > 24
    some = run("carve", "--db", str(case), "--filter", "tcp port 443", "-w", str(out))
    assert some.returncode == 1 and "30 packets of 3 flows" in some.stderr
    assert "packets" in some.stdout and out.stat().st_size > 24  # what is held was carved
    count = run("packets", "--db", str(case), "--filter", "tcp port 443", "--count")
    assert count.returncode == 1 and count.stdout.strip() == "50 packets"
    _retain(case, "--before", FLOWS_CUT, "--level", "flows")  # the witnesses of bins 0-1 go too
    later = run("carve", "--db", str(case), "--filter", "tcp port 443", "-w", str(out))
    assert later.returncode == 1 and "10 packets of 1 flows" in later.stderr
    assert "note: packets and flows before 2016-09-06T12:10:00Z were removed" in later.stderr


def test_windows_from_the_config_are_measured_from_the_newest_data(case):
    (case.parent / "forensics.toml").write_text('[retain]\nraw = "25min"\nflows = "30min"\n')
    plan = _retain(case, "--dry-run")
    # newest packet 12:39:59.999999: raw cutoff 12:14:59.999999 -> 12:10:00, flows 12:09:59.999999 -> 12:05:00
    assert plan["newest"] == "2016-09-06T12:39:59.999999Z"
    assert (plan["packets"]["cutoff"], plan["flows"]["cutoff"]) == ("2016-09-06T12:10:00Z", "2016-09-06T12:05:00Z")
    assert plan["packets"]["rows"] == 81
    usage = run("retain", "--db", str(case), "--raw", "3 parsecs")
    assert usage.returncode == 2 and "--raw '3 parsecs'" in usage.stderr
    (case.parent / "forensics.toml").write_text('[retain]\nraw = "a month"\n')
    bad = run("retain", "--db", str(case), "--dry-run")
    assert bad.returncode == 2 and "forensics.toml:2: [retain] raw" in bad.stderr and "30d" in bad.stderr


def test_a_pruned_capture_imported_again_with_force_is_whole_again(case, capture):
    _retain(case, "--before", FLOWS_CUT, "--level", "flows")
    again = cli("import", "--db", str(case), "-q", "--force", str(capture[0]))
    assert again.returncode == 0, again.stderr
    doc = _report(case, "internet_summary", "--fresh")
    assert set(doc["coverage"].values()) == {"packets"}
    counts = _counts(case)
    assert (counts["traffic_summary"], counts["retention_captures"], counts["retention"]) == (0, 0, 2)


def test_exported_flows_pruned_are_answered_from_the_summary(tmp_path):
    """NetFlow v5 records (pmacctd export, corpus): once they go, internet_summary's bins keep their values."""
    db = tmp_path / "nf.duckdb"
    proc = cli("import", "--db", str(db), "-q", str(CORPUS / "files/graylog-netflow/pmacctd-netflow5.pcap"))
    assert proc.returncode == 0, proc.stderr
    args = ("--bin", "5min", "--unit", "bytes")
    before = json.loads(cli("report", "internet_summary", "--db", str(db), "--json", *args).stdout)
    done = _retain(db, "--before", "2017-07-31T13:30:00Z", "--level", "flows")
    assert done["flows"]["rows"] == 43 and done["summary_rows"] > 0  # 42 exported + 1 built from the packets
    after = json.loads(cli("report", "internet_summary", "--db", str(db), "--json", *args).stdout)
    a, b_ = (d["response"]["result"]["data"]["data"] for d in (before, after))
    assert a["value"] == b_["value"] and a["total"] == b_["total"]
    assert b_["coverage"]["2017-07-31T13:25:00Z"] == "summary"
