"""Every shipped report and check gives the same answer on Spark local as on DuckDB, on the demo case, on a
generated IPv4+IPv6 flow case and (the application reports) on small public captures that hold their rows: items,
values to the last unit, coverage, binning, window, notes; alerts field by field. The DuckDB run is the oracle.
One Spark session for the process (conftest), each case exported once."""

from __future__ import annotations

import pytest

from forensics.checks.runner import run_checks
from forensics.config import load_config
from forensics.reports import run_report
from forensics.spark import spark_checks, spark_report
from forensics.store import Case
from tests.spark.conftest import copy_case

PARAMS = {"attributes": {"attributes": "src_ip,dst_ip,dst_port"}}
# The demo's 6,000 packets hold no DHCP, HTTP, TLS, SMTP or NXDOMAIN rows: those reports are compared on a case of
# small public captures that do (conftest APPDATA_CAPTURES). Compared empty on the demo they had passed while
# dhcp_leases failed on Spark as soon as it had a row (its strftime pattern).
APPDATA_REPORTS = ["dhcp_leases", "dns_nxdomain", "http_hosts", "smtp_senders", "tls_sni"]
# Seen equal on Spark while this was written (the rest of the shipped ones: README "Spark" says which are not yet).
# Within the time budget each Spark run counts: the flow reports on the IPv4+IPv6 flow case, the application reports
# on the captures that hold their rows, the packet reports and two flow reports on the demo case.
FLOW_REPORTS = ["attributes", "filter_compare", "internet_summary", "origin_as", "protocol_mix",
                "subnetwork_compare", "top_ports", "top_talkers", "wannacry"]
DEMO_REPORTS = ["attributes", "dns_names", "mac_addresses", "wannacry"]
CHECKS = ["after_hours", "app_anomaly", "host_sweep", "host_total", "icmp_misuse", "ip_proto_null", "land_attack",
          "port_scan", "rst_flood", "syn_flood", "syn_scan", "tcp_flag_misuse", "tcp_fragment", "traffic_anomaly",
          "traffic_threshold", "udp_flood", "udp_fragment", "unexpected_server"]
# On the demo case (packets, not flows: the check rows and misuse bins made from packets), the checks that alert
# there and two signature checks over its misuse bins, with limits low enough that they alert too (their rates and
# a whole limit of 2e9 in their text: DuckDB wrote it 2000000000.0, Spark 2.0E9, and Spark's rates were decimals
# of six places). The other checks raise nothing on the demo's packets: compared there they were empty against
# empty, at ~3 s of Spark each, and their SQL is compared on the flow case.
DEMO_ALERTING = ["after_hours", "host_sweep", "syn_scan", "unexpected_server"]
DEMO_MISUSE = {name: {"home_pps": 0.01, "other_pps": 0.01, "home_bps": 2e9, "other_bps": 0}
               for name in ("syn_flood", "icmp_misuse")}
DEMO_CHECKS = [*DEMO_ALERTING, *DEMO_MISUSE]


def _same_report(a, b) -> None:
    assert (a.start, a.end, a.bin_secs, a.binning) == (b.start, b.end, b.bin_secs, b.binning)
    assert a.coverage == b.coverage
    assert a.notes == b.notes
    assert [s.name for s in a.sections] == [s.name for s in b.sections]
    for sa, sb in zip(a.sections, b.sections, strict=True):
        assert [(i.rank, i.names, i.others) for i in sa.items] == [(i.rank, i.names, i.others) for i in sb.items]
        assert [i.values for i in sa.items] == [i.values for i in sb.items]
        assert sa.series == sb.series


def _report(spark, path, name):
    config = load_config(None, str(path))
    with Case.open(path, read_only=True) as case:
        duck = run_report(case, name, dict(PARAMS.get(name, {})), config=config)
        on_spark = spark_report(case, name, dict(PARAMS.get(name, {})), config=config, spark=spark)
    _same_report(duck, on_spark)
    return duck


@pytest.mark.parametrize("name", FLOW_REPORTS)
def test_report_flow_case(spark, flow_case, name):
    duck = _report(spark, flow_case, name)
    assert any(s.items for s in duck.sections)


@pytest.mark.parametrize("name", DEMO_REPORTS)
def test_report_demo_case(spark, demo_case, name):
    duck = _report(spark, demo_case, name)
    assert any(s.items for s in duck.sections)


@pytest.mark.parametrize("name", APPDATA_REPORTS)
def test_report_appdata_case(spark, appdata_case, name):
    duck = _report(spark, appdata_case, name)
    assert any(s.items for s in duck.sections)


def _alerts(run) -> list[tuple]:
    return sorted((a.check, a.severity, a.category, a.entity, a.window_start, a.window_end, a.value, a.threshold,
                   a.unit, a.detail, a.evidence, a.series, a.band_lo, a.band_hi, sorted(a.params.items()))
                  for a in run.alerts)


_RUNS: dict = {}


def _check_runs(spark, path, tmp_path_factory, names: list[str] = CHECKS, params: dict | None = None) -> tuple:
    """The checks in one run per engine, each on its own copy of the case (checks write alerts)."""
    if path not in _RUNS:
        duck_path = copy_case(path, tmp_path_factory.mktemp("duck"))
        spark_path = copy_case(path, tmp_path_factory.mktemp("spark"))
        with Case.open(duck_path) as case:
            duck = run_checks(case, names, params=params, config=load_config(None, str(duck_path)))
        with Case.open(spark_path) as case:
            on_spark = spark_checks(case, names, params=params, config=load_config(None, str(spark_path)),
                                    spark=spark)
        _RUNS[path] = (duck, on_spark)
    return _RUNS[path]


def _same_check(duck, on_spark, name) -> None:
    assert not [e for e in duck.errors if name in str(e)]
    assert [str(e) for e in on_spark.errors if f"/{name}.sql" in str(e)] == []
    assert [s.alerts for s in duck.checks if s.name == name] == [s.alerts for s in on_spark.checks if s.name == name]
    assert [a for a in _alerts(duck) if a[0] == name] == [a for a in _alerts(on_spark) if a[0] == name]


@pytest.mark.parametrize("name", CHECKS)
def test_check_flow_case(spark, flow_case, tmp_path_factory, name):
    _same_check(*_check_runs(spark, flow_case, tmp_path_factory), name)


@pytest.mark.parametrize("name", DEMO_CHECKS)
def test_check_demo_case(spark, demo_case, tmp_path_factory, name):
    _same_check(*_check_runs(spark, demo_case, tmp_path_factory, DEMO_CHECKS, DEMO_MISUSE), name)


def test_checks_alert_somewhere(spark, flow_case, demo_case, tmp_path_factory):
    """The comparison has something to compare: the flow case raises alerts on DuckDB, and each check chosen for
    the demo case as alerting there does."""
    assert _check_runs(spark, flow_case, tmp_path_factory)[0].alerts
    demo = _check_runs(spark, demo_case, tmp_path_factory, DEMO_CHECKS, DEMO_MISUSE)[0]
    assert sorted({a.check for a in demo.alerts}) == sorted([*DEMO_ALERTING, *DEMO_MISUSE])
    assert any("(limits: 0.01 pps, 2000000000 bps)" in a.detail for a in demo.alerts if a.check in DEMO_MISUSE)
