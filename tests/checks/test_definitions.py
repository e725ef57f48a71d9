"""Every check file parses and runs against an empty case; config and --param are validated by name."""

from __future__ import annotations

import duckdb
import pytest

from forensics.checks import list_checks, load_alerts, run_checks
from forensics.config import config_from_text
from forensics.errors import DefinitionError, UsageError
from forensics.sqlfiles import parse_definition, placeholders

EXPECTED = {"syn_flood", "ip_proto_null", "tcp_flag_misuse", "tcp_fragment", "udp_fragment", "icmp_misuse",
            "land_attack", "rst_flood", "udp_flood", "host_total", "syn_scan", "port_scan", "host_sweep",
            "traffic_threshold", "after_hours", "unexpected_server", "app_anomaly", "traffic_anomaly"}


def test_every_check_parses_with_severity_and_documented_defaults():
    catalog = list_checks()
    assert catalog.errors == []
    assert EXPECTED <= set(catalog.names())
    for name in catalog.names():
        d = catalog[name]
        assert d.kind == "check" and d.severity in ("high", "medium", "low", "info")
        assert "Default" in d.description, name  # each file says its defaults and why benign traffic stays quiet


def test_every_check_runs_on_an_empty_case(case):
    result = run_checks(case)
    assert {s.name for s in result.checks} >= EXPECTED
    assert result.alerts == [] and load_alerts(case) == []
    # DuckDB's own progress bar (drawn on stdout for a statement over 2 s) would break `check --json` when piped
    assert case.con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False


def test_check_header_needs_a_severity(tmp_path):
    with pytest.raises(DefinitionError, match="severity"):
        parse_definition(tmp_path / "x.sql", "-- name: x\n-- title: X\nSELECT 1", kind="check")


def test_apostrophe_in_a_comment_does_not_hide_later_placeholders(tmp_path):
    sql = "SELECT 1 -- the host's minute\nFROM t WHERE a > $threshold AND b = 'it''s $not' /* don't */ AND c < $to_ts"
    assert placeholders(sql) == {"threshold", "to_ts"}
    text = ("-- name: x\n-- title: X\n-- severity: low\n-- param: threshold DOUBLE = 1\n"
            "-- param: to_ts TIMESTAMP\n" + sql)
    d = parse_definition(tmp_path / "x.sql", text, kind="check")  # raised 'declared but not used' before the fix
    assert {p.name for p in d.params} == placeholders(d.sql) == {"threshold", "to_ts"}


def test_config_keys_are_validated_against_the_checks_params(case):
    bad_key = config_from_text("[checks.syn_flood]\nhome_ppz = 5\n", "case.toml")
    with pytest.raises(UsageError, match=r"case.toml.*\[checks.syn_flood\].*home_ppz.*not a parameter of syn_flood"):
        run_checks(case, ["syn_flood"], config=bad_key)
    bad_check = config_from_text("[checks.no_such]\nx = 1\n", "case.toml")
    with pytest.raises(UsageError, match=r"no check called 'no_such'"):
        run_checks(case, config=bad_check)
    bad_subnet = config_from_text("[checks.syn_flood.subnetworks.lab]\npps = 1\n", "case.toml")
    with pytest.raises(UsageError, match="no subnetwork 'lab'"):
        run_checks(case, ["syn_flood"], config=bad_subnet)
    with pytest.raises(UsageError, match="syn_flood.bogus"):
        run_checks(case, ["syn_flood"], params={"syn_flood": {"bogus": "1"}})
    with pytest.raises(UsageError, match="home_pps"):
        run_checks(case, ["syn_flood"], params={"syn_flood": {"home_pps": "many"}})


def test_read_only_case_without_alerts_table_has_no_alerts(tmp_path):
    from forensics.store import Case

    path = tmp_path / "old.duckdb"
    Case.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE alerts")
    con.close()
    with Case.open(path, read_only=True) as old:
        assert load_alerts(old) == []
