"""Every shipped report and check gives the same answer on Spark local as on DuckDB: items, values to the last
unit, coverage, binning, window; alerts field by field. The DuckDB run is the oracle."""

from __future__ import annotations

import pytest

from forensics.checks import run_checks
from forensics.config import load_config
from forensics.reports import list_reports, run_report
from forensics.spark import spark_checks, spark_report
from forensics.store import Case
from tests.spark.conftest import copy_case

# Not yet on Spark (strict: when one starts passing, the mark must go): mac_addresses uses count(DISTINCT ..)
# OVER (a window), which Spark lacks; origin_as fails in Spark while checkpointing its AS lookup CTE.
NOT_YET = {"mac_addresses": "count(DISTINCT ...) OVER (...) has no Spark equivalent yet",
           "origin_as": "Spark fails checkpointing origin_as' AS lookup (not diagnosed)"}
REPORTS = [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=NOT_YET[n])) if n in NOT_YET else n
           for n in list_reports().names()]
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
    assert any(s.items for s in duck.sections) or name in ("mac_addresses", "origin_as", "filter_compare")
    _same_report(duck, on_spark)


@pytest.mark.parametrize("name", ["wannacry", "attributes", "top_talkers", "subnetwork_compare"])
def test_report_demo_case(spark, demo_case, name):
    config = load_config(None, str(demo_case))
    with Case.open(demo_case, read_only=True) as case:
        duck = run_report(case, name, dict(PARAMS.get(name, {})), config=config)
        on_spark = spark_report(case, name, dict(PARAMS.get(name, {})), config=config, spark=spark)
    assert any(s.items for s in duck.sections)
    _same_report(duck, on_spark)


def _alerts(run) -> list[tuple]:
    return sorted((a.check, a.entity, a.window_start, a.window_end, a.value, a.threshold, a.unit, a.detail,
                   a.evidence, a.series) for a in run.alerts)


# Not yet: on the demo case 13 of the 17 shipped checks fail on Spark (misuse_alerts' correlated override lookup
# mixes outer and local references in an aggregate, after_hours' timezone(), traffic_anomaly's to_days(),
# traffic_threshold's inline table of outer values, unexpected_server's struct fields); see the report of issue 18.
@pytest.mark.xfail(strict=True, reason="13 of 17 checks do not run on Spark yet")
@pytest.mark.parametrize("which", ["flow_case", "demo_case"])
def test_checks(spark, request, tmp_path, which):
    source = request.getfixturevalue(which)
    one, two = copy_case(source, tmp_path / "duck"), copy_case(source, tmp_path / "spark")
    with Case.open(one) as case:
        duck = run_checks(case, config=load_config(None, str(one)))
    with Case.open(two) as case:
        on_spark = spark_checks(case, config=load_config(None, str(two)), spark=spark)
    assert duck.errors == [] and on_spark.errors == []
    assert [s.name for s in duck.checks] == [s.name for s in on_spark.checks]
    assert [s.alerts for s in duck.checks] == [s.alerts for s in on_spark.checks]
    assert _alerts(duck) == _alerts(on_spark)
