"""Parameters are bound, never pasted; bad parameters and broken user reports fail with a clear message."""

from __future__ import annotations

import pytest
from flowgen import SPAN, T0, WANNACRY, ip_text, is_home, load_case, make_flows

from forensics.config import config_from_text
from forensics.errors import DefinitionError, UsageError
from forensics.reports import run_report
from forensics.store import Case

WINDOW = {"from": T0.isoformat(), "to": (T0 + SPAN).isoformat()}
HOSTILE = "x'); DROP TABLE flows; --"


@pytest.fixture(scope="module")
def flows():
    return make_flows(120, seed=3)


@pytest.fixture
def case(tmp_path, flows):
    c = load_case(str(tmp_path / "b.duckdb"), flows)
    yield c
    c.close()


def flow_count(case):
    return case.con.execute("SELECT count(*) FROM main.flows").fetchone()[0]


def test_hostile_parameter_value_is_only_a_value(case, flows):
    r = run_report(case, "wannacry", {**WINDOW, "app": HOSTILE})
    assert all(s.items == [] for s in r.sections)
    assert flow_count(case) == len(flows)
    r = run_report(case, "wannacry", {**WINDOW, "app": "WannaCry.attack"})
    assert r.sections[0].items


def test_hostile_config_names_are_only_values(case, flows):
    toml = (f'[subnetworks]\n"{HOSTILE}" = ["10.1.0.0/16"]\n'
            f'[filters."{HOSTILE}"]\nconditions = "proto = tcp"\n')
    cfg = config_from_text(toml, "t")
    r = run_report(case, "subnetwork_compare", WINDOW, config=cfg)
    assert [it.names for it in r.sections[0].items] == [[HOSTILE]]
    r = run_report(case, "top_talkers", {**WINDOW, "scope": f"subnetwork:{HOSTILE}"}, config=cfg)
    lab = {ip_text(h) for h in ("10.1.0.1", "10.1.0.2", "10.1.0.3")}
    kept = [f for f in flows if ip_text(f.src) in lab or ip_text(f.dst) in lab]
    assert sum(it.values[1] for it in r.sections[0].items) == pytest.approx(
        sum(f.bytes * 8 for f in kept) / SPAN.total_seconds())
    r = run_report(case, "filter_compare", WINDOW, config=cfg)
    assert r.sections[0].items[0].names == [HOSTILE]
    assert flow_count(case) == len(flows)


def test_unknown_parameter_lists_the_declared_ones(case):
    with pytest.raises(UsageError, match=r"no parameter colour \(declared: app, top, from_ts"):
        run_report(case, "wannacry", {"colour": "red"})


def test_badly_typed_parameter(case):
    with pytest.raises(UsageError, match="--param top: invalid literal"):
        run_report(case, "top_talkers", {"top": "many"})


def test_unknown_attribute(case):
    with pytest.raises(UsageError, match="attributes colour not known; choose from src_ip"):
        run_report(case, "attributes", {"attributes": "src_ip,colour"})


def test_unknown_report_names_the_known_ones(case):
    with pytest.raises(UsageError, match="no report called 'nope' .*wannacry"):
        run_report(case, "nope")


def test_user_report_required_parameter_and_failing_sql(case, tmp_path):
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / "needs_port.sql").write_text(
        "-- name: needs_port\n-- title: Needs a port\n-- param: port INTEGER\n-- dimensions: ip\n"
        "-- measures: total\nSELECT 1 AS rank, NULL::TIMESTAMP AS bin, 'a' AS ip, count(*) AS total\n"
        "FROM flows WHERE dst_port = $port\n")
    (folder / "broken.sql").write_text(
        "-- name: broken\n-- title: Broken\n-- measures: total\nSELECT no_such_column FROM flows\n")
    with pytest.raises(UsageError, match=r"parameter port \(INTEGER\) needs a value: --param port=\.\.\."):
        run_report(case, "needs_port", {}, queries_dirs=[folder])
    r = run_report(case, "needs_port", {"port": "445"}, queries_dirs=[folder])
    assert r.sections[0].items[0].values == [float(case.con.execute(
        "SELECT count(*) FROM flows WHERE dst_port = 445").fetchone()[0])]
    with pytest.raises(DefinitionError, match=r"broken.sql: query failed: Binder Error"):
        run_report(case, "broken", {}, queries_dirs=[folder])


def test_runs_on_a_read_only_case(tmp_path, flows):
    path = tmp_path / "ro.duckdb"
    load_case(str(path), flows).close()
    with Case.open(path, read_only=True) as ro:
        r = run_report(ro, "wannacry", WINDOW)
    want = {(ip_text(f.src), ip_text(f.dst)) for f in flows
            if is_home(f.src) and not is_home(f.dst) and (f.proto, f.dport) in WANNACRY}
    assert {tuple(it.names[:2]) for it in r.sections[0].items if not it.others} <= want
    assert len([it for it in r.sections[0].items if not it.others]) == min(10, len(
        {(ip_text(f.src), ip_text(f.dst), f.proto, f.dport) for f in flows
         if is_home(f.src) and not is_home(f.dst) and (f.proto, f.dport) in WANNACRY}))


def test_empty_case_says_there_is_no_data(tmp_path):
    with Case.open(tmp_path / "empty.duckdb") as c:
        with pytest.raises(UsageError, match="no traffic in the case"):
            run_report(c, "top_talkers", {})
        r = run_report(c, "top_talkers", {"from": "2016-09-06T00:00:00Z", "to": "2016-09-07T00:00:00Z"})
    assert r.sections[0].items == [] and r.sources == [] and r.start.year == 2016
    assert r.binning == "flow-start"  # nothing held as packets


def test_unit_only_where_the_report_takes_one(case, tmp_path):
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / "flow_count.sql").write_text(
        "-- name: flow_count\n-- title: Flows\n-- measures: total\n-- unit: count\n"
        "SELECT 1 AS rank, NULL::TIMESTAMP AS bin, count(*) AS total FROM flows\n")
    with pytest.raises(UsageError, match="report flow_count is in count only; drop --unit pps"):
        run_report(case, "flow_count", {"unit": "pps"}, queries_dirs=[folder])
    assert run_report(case, "flow_count", {}, queries_dirs=[folder]).unit == "count"
    with pytest.raises(UsageError, match="unit 'bits': use bps, pps, bytes, packets, flows"):
        run_report(case, "top_talkers", {"unit": "bits"})
