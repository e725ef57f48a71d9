"""Scopes on generated flows: home with boundary interfaces, boundary, server farm, config filter, business hours."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from flowgen import SPAN, T0, WANNACRY, Flow, is_home, load_case, make_flows

from forensics.config import config_from_text
from forensics.reports import run_report

SECS = SPAN.total_seconds()
CONFIG = """
[[interfaces]]
ifindex = 1
name = "uplink"
boundary = true

[[interfaces]]
ifindex = 3
name = "core"

[server_farms]
dns = ["10.1.0.3/32", "fd00::2/128"]

[filters.wc_out]
scope = "home"
conditions = "src ip in HOME and dst app = WannaCry.attack"

[business_hours]
days = ["tue"]
start = "12:30"
end = "13:15"
"""


@pytest.fixture(scope="module")
def flows():
    return make_flows(250, seed=5)


@pytest.fixture(scope="module")
def case(tmp_path_factory, flows):
    c = load_case(str(tmp_path_factory.mktemp("scopes") / "s.duckdb"), flows)
    yield c
    c.close()


@pytest.fixture(scope="module")
def config():
    return config_from_text(CONFIG, "scopes.toml")


def total(case, config, scope):
    r = run_report(case, "protocol_mix", {"from": T0.isoformat(), "to": (T0 + SPAN).isoformat(), "scope": scope},
                   config=config)
    return sum(it.values[2] for it in r.sections[0].items) * SECS / 8


def bytes_of(flows):
    return sum(f.bytes for f in flows)


def crosses(f: Flow) -> bool:
    return f.in_if == 1 or f.out_if == 1


def test_home_scope_needs_a_boundary_crossing_when_interfaces_are_known(case, flows, config):
    want = [f for f in flows if (is_home(f.src) or is_home(f.dst)) and crosses(f)]
    assert 0 < len(want) < len(flows)
    assert total(case, config, "home") == pytest.approx(bytes_of(want))


def test_home_scope_by_address_without_boundaries(case, flows):
    want = [f for f in flows if is_home(f.src) or is_home(f.dst)]
    assert total(case, config_from_text("", "empty.toml"), "home") == pytest.approx(bytes_of(want))


def test_boundary_scope(case, flows, config):
    assert total(case, config, "boundary") == pytest.approx(bytes_of([f for f in flows if crosses(f)]))


def test_server_farm_scope(case, flows, config):
    farm = {ipaddress.ip_address("10.1.0.3"), ipaddress.ip_address("fd00::2")}
    want = [f for f in flows if ipaddress.ip_address(f.src) in farm or ipaddress.ip_address(f.dst) in farm]
    assert want
    assert total(case, config, "farm:dns") == pytest.approx(bytes_of(want))


def test_config_filter_as_scope(case, flows, config):
    want = [f for f in flows if is_home(f.src) and crosses(f) and (f.proto, f.dport) in WANNACRY]
    assert want
    assert total(case, config, "filter:wc_out") == pytest.approx(bytes_of(want))


def test_business_hours_and_after_hours(case, flows, config):
    assert T0.weekday() == 1  # 2016-09-06 is a Tuesday

    def inside(f):
        return dt.time(12, 30) <= f.ts.time() < dt.time(13, 15)

    assert total(case, config, "business") == pytest.approx(bytes_of([f for f in flows if inside(f)]))
    assert total(case, config, "after_hours") == pytest.approx(bytes_of([f for f in flows if not inside(f)]))


def test_interface_names_from_the_config(case, flows, config):
    r = run_report(case, "attributes", {"from": T0.isoformat(), "to": (T0 + SPAN).isoformat(),
                                        "attributes": "out_if"}, config=config)
    assert {it.names[0] for it in r.sections[0].items} == {"core", "4"}
