"""Shipped reports give the same answer on Spark local as on DuckDB: items, values to the last
unit, coverage, binning, window; alerts field by field. The DuckDB run is the oracle."""

from __future__ import annotations

import pytest

from forensics.config import load_config
from forensics.reports import run_report
from forensics.spark import spark_report
from forensics.store import Case

# The reports tested on Spark here (within the suite's time budget: a Spark run of one report costs 10-70 s on
# two cores). Not yet on Spark (README "Spark"): mac_addresses (count(DISTINCT ..) OVER), origin_as
# (checkpointing its AS lookup fails), subnetwork_compare on the flow case, and the application reports
# (dns_names, dns_nxdomain, tls_sni, http_hosts, dhcp_leases, smtp_senders), whose tables are not exported yet.
REPORTS = ["wannacry", "top_talkers", "protocol_mix", "internet_summary"]
PARAMS = {"attributes": {"attributes": "src_ip,dst_ip,dst_port"}}


def _same_report(a, b) -> None:
    assert (a.start, a.end, a.bin_secs, a.binning) == (b.start, b.end, b.bin_secs, b.binning)
    assert a.coverage == b.coverage
    assert a.notes == b.notes
    assert [s.name for s in a.sections] == [s.name for s in b.sections]
    for sa, sb in zip(a.sections, b.sections, strict=True):
        assert [(i.rank, i.names, i.others) for i in sa.items] == [(i.rank, i.names, i.others) for i in sb.items]
        assert [i.values for i in sa.items] == [i.values for i in sb.items]
        assert sa.series == sb.series


@pytest.mark.parametrize("name", REPORTS)
def test_report_flow_case(spark, flow_case, name):
    config = load_config(None, str(flow_case))
    with Case.open(flow_case, read_only=True) as case:
        duck = run_report(case, name, dict(PARAMS.get(name, {})), config=config)
        on_spark = spark_report(case, name, dict(PARAMS.get(name, {})), config=config, spark=spark)
    assert any(s.items for s in duck.sections)
    _same_report(duck, on_spark)


@pytest.mark.parametrize("name", ["wannacry", "attributes"])
def test_report_demo_case(spark, demo_case, name):
    config = load_config(None, str(demo_case))
    with Case.open(demo_case, read_only=True) as case:
        duck = run_report(case, name, dict(PARAMS.get(name, {})), config=config)
        on_spark = spark_report(case, name, dict(PARAMS.get(name, {})), config=config, spark=spark)
    assert any(s.items for s in duck.sections)
    _same_report(duck, on_spark)
