"""traffic() as the flows alone when the window holds no packets (issue 11: the union with an empty packet branch
hid the flows' column statistics from DuckDB): the same report rows as the union, on a case of exported flows."""

from __future__ import annotations

import pytest
from test_reports import WINDOW

import forensics.reports.runner as runner
from forensics.reports import run_report

FLOW_REPORTS = [("top_talkers", {}), ("protocol_mix", {}), ("top_ports", {}), ("internet_summary", {}),
                ("origin_as", {}), ("wannacry", {}), ("subnetwork_compare", {}), ("filter_compare", {}),
                ("attributes", {"attributes": "src_ip,dst_port,proto"})]


def _rows(result: object) -> list:
    return [(s.name, [(i.rank, i.names, i.values, i.others) for i in s.items], sorted(s.series.items()))
            for s in result.sections]


@pytest.mark.parametrize(("name", "params"), FLOW_REPORTS)
def test_flows_only_traffic_gives_the_union_rows(case, config, monkeypatch, name, params):
    calls = []

    def spy(con):
        calls.append(runner_flows_only(con))
        return calls[-1]

    runner_flows_only = runner.flows_only_when_no_packets
    monkeypatch.setattr(runner, "flows_only_when_no_packets", spy)
    narrowed = run_report(case, name, {**WINDOW, **params}, config=config)
    assert calls == [True]  # exported flows only: traffic() was redefined
    monkeypatch.setattr(runner, "flows_only_when_no_packets", lambda con: False)
    union = run_report(case, name, {**WINDOW, **params}, config=config)
    assert _rows(narrowed) == _rows(union)
    assert any(s.items for s in union.sections)
