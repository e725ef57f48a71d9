"""User checks: SQL and Python checks from --checks folders, the flow-hook replay, broken checks, fixtures."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from builders import ACK, FIN, PSH, SYN

from tests.checks.checkgen import ROOT, epoch, syn_frame, udp_frame
from tests.inprocess import cli as inprocess_cli

DAY = dt.datetime(2026, 3, 10, 12, 1, 30)
HOOK_SPY = '''
CHECK = {"name": "spy", "title": "Spy", "severity": "info", "params": {}}
def protocol_detected(flows, ctx): pass
def status_changed(flows, ctx): pass
def periodic_update(flows, ctx): pass
def flow_end(flows, ctx): pass
'''
BIG_PY = '''
import pyarrow.compute as pc
CHECK = {"name": "big_py", "title": "Big flows", "severity": "low", "params": {"min_packets": 3}}
def flow_end(flows, ctx):
    big = flows.filter(pc.greater_equal(flows["packets"], ctx.params["min_packets"]))
    for r in big.to_pylist():
        if ctx.is_home(r["src_ip"]):
            ctx.alert(r["src_ip"], r["first_ts"], r["last_ts"], r["packets"], ctx.params["min_packets"])
'''
BIG_SQL = '''-- name: big_sql
-- title: Big flows
-- severity: low
-- param: min_packets BIGINT = 3
-- param: from_ts TIMESTAMP
-- param: to_ts TIMESTAMP
-- unit: count
SELECT ip_text(src_ip) AS entity, first_ts AS window_start, last_ts AS window_end, packets AS value,
       $min_packets AS threshold
FROM flows
WHERE packets >= $min_packets AND is_home(src_ip) AND last_ts >= $from_ts AND last_ts < $to_ts
'''


def forensics(*args):
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True)


def traffic() -> list:
    """A long TCP flow to port 445 (WannaCry.attack) with a packet every 10 s for 12 min, flags SYN, ACK, PSH|ACK,
    FIN|ACK; a short UDP flow; a short TCP flow to port 80 (no application)."""
    recs = []
    for i in range(73):
        flags = SYN if i == 0 else ACK if i < 5 else PSH | ACK if i < 72 else FIN | ACK
        recs.append((epoch(DAY) + 10 * i, syn_frame("10.1.1.5", "203.0.113.7", 40000, 445, flags)))
    recs.append((epoch(DAY) + 3, udp_frame("10.1.1.5", "8.8.8.8", 5353, 53)))
    for i, flags in enumerate((SYN, ACK, ACK, PSH | ACK)):
        recs.append((epoch(DAY) + 20 + i, syn_frame("10.1.1.6", "198.51.100.9", 41000, 80, flags)))
    return recs


def spy_calls(case, tmp_path):
    from forensics.checks import run_checks

    folder = tmp_path / "spy"
    folder.mkdir()
    (folder / "spy.py").write_text(HOOK_SPY)
    got: list = []

    def debug(check, kind, payload):
        if kind == "hook":
            hook, flows = payload
            got.extend((hook, r["flow_id"], r["event_ts"].replace(tzinfo=None), r["packets"], r["tcp_flags"],
                        r["src_ip"]) for r in flows.to_pylist())
            assert str(flows.schema.field("first_ts").type) == "timestamp[us, tz=UTC]"
    run = run_checks(case, ["spy"], queries_dirs=[folder], debug=debug)
    assert run.errors == []
    return got


def test_each_hook_receives_what_the_replay_definition_gives(tmp_case, tmp_path):
    case = tmp_case(traffic())
    got = spy_calls(case, tmp_path)
    flows = case.con.execute("SELECT flow_id, first_ts, last_ts, ip_proto, src_port, dst_port, packets, tcp_flags, "
                             "ip_text(src_ip), ip_text(dst_ip) FROM flows").fetchall()
    packets = case.con.execute("SELECT ts, ip_text(src_ip), ip_text(dst_ip), src_port, dst_port, tcp_flags "
                               "FROM packets ORDER BY ts, frame").fetchall()
    expected = set()
    for fid, first, last, proto, sport, dport, n, flags, src, dst in flows:
        expected.add(("flow_end", fid, last, n, flags, src))
        if proto in (6, 17) and 445 in (sport, dport):  # WannaCry.attack: tcp/udp 135,137,138,139,445
            expected.add(("protocol_detected", fid, first, n, flags, src))
        mine = [p for p in packets if (p[1], p[2], p[3], p[4]) == (src, dst, sport, dport) and first <= p[0] <= last]
        if proto == 6:
            so_far = 0
            for k, p in enumerate(mine):
                if k and so_far | p[5] != so_far:
                    expected.add(("status_changed", fid, p[0], k + 1, so_far | p[5], src))
                so_far |= p[5]
        tick = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=300 * -(-epoch(first + dt.timedelta(minutes=5)) // 300))
        while tick <= last:
            before = [p for p in mine if p[0] < tick]
            flags_before = 0
            for p in before:
                flags_before |= p[5]
            expected.add(("periodic_update", fid, tick, len(before), flags_before, src))
            tick += dt.timedelta(minutes=5)
    assert sorted(got, key=str) == sorted(expected, key=str)
    hooks = {g[0] for g in got}
    assert hooks == {"flow_end", "protocol_detected", "status_changed", "periodic_update"}
    # the flow runs 12:01:30-12:13:30: one tick (12:10) is at least 5 min after its start
    assert [g[2] for g in got if g[0] == "periodic_update"] == [dt.datetime(2026, 3, 10, 12, 10)]
    for hook in hooks:  # each hook's events arrive in flow time
        times = [g[2] for g in got if g[0] == hook]
        assert times == sorted(times)


def test_a_sql_check_and_a_python_check_give_the_same_alerts(tmp_case, tmp_path):
    from forensics.checks import run_checks

    case = tmp_case(traffic())
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "big_py.py").write_text(BIG_PY)
    (folder / "big_sql.sql").write_text(BIG_SQL)
    run = run_checks(case, ["big_py", "big_sql"], queries_dirs=[folder], params={"big_py": {"min_packets": "4"},
                                                                                 "big_sql": {"min_packets": "4"}})
    assert run.errors == []
    by = {n: sorted((a.entity, a.window_start, a.window_end, a.value, a.threshold) for a in run.alerts
                    if a.check == n) for n in ("big_py", "big_sql")}
    assert by["big_py"] == by["big_sql"]
    assert {e for e, *_ in by["big_py"]} == {"10.1.1.5", "10.1.1.6"}


BROKEN = {
    "syntax.py": ("CHECK = {'name': 'syn_err', 'title': 'x', 'severity': 'low'}\ndef flow_end(flows, ctx)\n", 2),
    "import_boom.py": ("CHECK = {'name': 'imp', 'title': 'x', 'severity': 'low'}\n\nraise RuntimeError('no')\n", 3),
    "hook_boom.py": ("CHECK = {'name': 'hook_boom', 'title': 'x', 'severity': 'low'}\n"
                     "def flow_end(flows, ctx):\n    x = 1\n    raise ValueError('boom')\n", 4),
    "bad_sql.sql": ("-- name: bad_sql\n-- title: x\n-- severity: low\nSELECT 1 AS entity,\n  nope FROM flows\n", 5),
    "no_cols.sql": ("-- name: no_cols\n-- title: x\n-- severity: low\nSELECT 1 AS entity FROM flows\n", 4),
    "writes.sql": ("-- name: writes\n-- title: x\n-- severity: low\nDELETE FROM alerts\n", 4),
}


def test_broken_checks_are_named_with_their_line_and_skipped(tmp_case, tmp_path):
    from forensics.checks import list_checks, run_checks

    case = tmp_case(traffic())
    baseline = run_checks(case, ["after_hours", "host_sweep"], params={"after_hours": {"hours": "13:00-14:00"}})
    assert baseline.alerts  # the 12:01 traffic is outside 13-14
    folder = tmp_path / "broken"
    folder.mkdir()
    for name, (text, _) in BROKEN.items():
        (folder / name).write_text(text)
    (folder / "big_py.py").write_text(BIG_PY)
    loaded = list_checks([folder])
    assert {"hook_boom", "bad_sql", "no_cols", "writes", "big_py"} <= set(loaded.names())
    run = run_checks(case, ["after_hours", "host_sweep", "hook_boom", "bad_sql", "no_cols", "writes", "big_py"],
                     queries_dirs=[folder], params={"after_hours": {"hours": "13:00-14:00"}})
    errors = [str(e) for e in loaded.errors] + run.errors
    for name, (_, line) in BROKEN.items():
        assert any(f"{folder / name}:{line}:" in e for e in errors), (name, errors)
    key = [(a.check, a.entity, a.window_start, a.value) for a in baseline.alerts]
    assert [(a.check, a.entity, a.window_start, a.value) for a in run.alerts if a.check != "big_py"] == key
    assert any(a.check == "big_py" for a in run.alerts)
    assert case.con.execute("SELECT count(*) FROM alerts").fetchone()[0] > 0  # writes.sql deleted nothing
    case.close()
    cli = forensics("check", "--db", str(case.path), "--checks", str(folder), "big_py", "hook_boom")
    assert cli.returncode == 1 and "Traceback" not in cli.stderr
    assert f"{folder / 'hook_boom.py'}:4:" in cli.stderr


def test_fixtures_pass_and_a_wrong_expectation_fails_with_the_difference(tmp_path):
    examples = ROOT / "examples" / "checks"
    ok = inprocess_cli("check", "--test", "--checks", str(examples), "--json")  # a success: what it answers
    assert ok.returncode == 0, ok.stdout + ok.stderr
    results = json.loads(ok.stdout)["fixtures"]
    assert {r["check"] for r in results} >= {"after_hours", "host_sweep", "unexpected_time_access"}
    assert all(r["passed"] for r in results)
    copy = tmp_path / "checks"
    shutil.copytree(examples, copy)
    expected = next(Path(copy).glob("unexpected_time_access/fixtures/*/expected.json"))
    spec = json.loads(expected.read_text())
    spec["alerts"][0]["value"] += 1
    expected.write_text(json.dumps(spec))
    bad = forensics("check", "--test", "--checks", str(copy), "unexpected_time_access")
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout and f"expected {spec['alerts'][0]['value']}, got" in bad.stdout


def test_debug_prints_hook_batches_and_alerts(tmp_case, tmp_path):
    case = tmp_case(traffic())
    case.close()
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "big_py.py").write_text(BIG_PY)
    out = forensics("check", "--db", str(case.path), "--checks", str(folder), "--debug", "big_py")
    assert out.returncode == 0, out.stderr
    assert "[big_py] flow_end: 3 flow(s)" in out.stdout and "[big_py] alert: entity=10.1.1.5" in out.stdout


def test_checks_dirs_in_the_case_config(tmp_case, tmp_path):
    from forensics.checks import run_checks
    from forensics.config import config_from_text, load_config
    from forensics.errors import UsageError

    folder = tmp_path / "case" / "my_checks"
    case = tmp_case(traffic(), config='[reports]\nchecks_dirs = ["my_checks"]\n')
    folder.mkdir()
    (folder / "big_py.py").write_text(BIG_PY)
    run = run_checks(case, ["big_py"], config=load_config(None, case.path))
    assert run.errors == [] and run.alerts
    missing = config_from_text('[home]\nnetworks = ["10.0.0.0/8"]\n[reports]\nchecks_dirs = ["nope"]\n',
                               str(tmp_path / "x.toml"), tmp_path)
    with pytest.raises(UsageError, match=r"x.toml:4: \[reports\] checks_dirs.*nope.*not a folder"):
        run_checks(case, ["big_py"], config=missing)


def test_exported_flows_replay_with_prorated_counters(tmp_path):
    """A Zeek conn record of 1000 s (12:01:40-12:18:20, 100 packets, 100000 bytes one way) to port 445: ticks at
    12:10 and 12:15 with counters prorated (50 and 80 packets); no status change (no packets held)."""
    from forensics.ingest import import_paths
    from forensics.store import Case

    start = dt.datetime(2026, 3, 10, 12, 1, 40)
    conn = {"ts": epoch(start), "uid": "C1", "id.orig_h": "10.1.1.5", "id.orig_p": 40000, "id.resp_h": "203.0.113.7",
            "id.resp_p": 445, "proto": "tcp", "duration": 1000.0, "conn_state": "SF", "history": "ShADadFf",
            "orig_pkts": 100, "orig_ip_bytes": 100000, "resp_pkts": 0, "resp_ip_bytes": 0}
    path = tmp_path / "conn.json"
    path.write_text(json.dumps(conn) + "\n")
    with Case.open(tmp_path / "z.duckdb") as case:
        assert import_paths(case, [str(path)]).exit_code == 0
        got = spy_calls(case, tmp_path)
    by_hook: dict = {}
    for hook, _, at, packets, _, src in got:
        by_hook.setdefault(hook, []).append((at, packets, src))
    end = start + dt.timedelta(seconds=1000)
    assert by_hook["periodic_update"] == [(dt.datetime(2026, 3, 10, 12, 10), 50, "10.1.1.5"),
                                          (dt.datetime(2026, 3, 10, 12, 15), 80, "10.1.1.5")]
    assert by_hook["protocol_detected"] == [(start, 100, "10.1.1.5")]
    assert by_hook["flow_end"] == [(end, 100, "10.1.1.5")]
    assert "status_changed" not in by_hook


def test_plugin_manifest_errors_are_named(tmp_path):
    from forensics.checks import list_checks

    plugin = tmp_path / "mine" / "p"
    plugin.mkdir(parents=True)
    (plugin / "manifest.toml").write_text('name = "p"\ntitle = "P"\nseverity = "low"\nhoks = ["flow_end"]\n')
    (plugin / "check.py").write_text("def flow_end(flows, ctx):\n    pass\n")
    catalog = list_checks([tmp_path / "mine"])
    assert any(str(plugin / "manifest.toml") in str(e) and "hoks" in str(e) for e in catalog.errors)
    (plugin / "manifest.toml").write_text('name = "p"\ntitle = "P"\nseverity = "low"\nhooks = ["status_changed"]\n')
    catalog = list_checks([tmp_path / "mine"])
    assert any("status_changed" in str(e) for e in catalog.errors) and "p" not in catalog
    (plugin / "manifest.toml").write_text('name = "p"\ntitle = "P"\nseverity = "low"\nhooks = ["flow_end"]\n'
                                          '[params]\nlimit = {type = "INTEGER", default = 5}\n')
    catalog = list_checks([tmp_path / "mine"])
    assert catalog.errors == [] and catalog["p"].param("limit").default == 5
