"""Hypothesis over the OpenAPI document: every operation /openapi.json lists (and the pages it leaves out) is
called with values drawn from its parameters' schemas, in range and out of it; no answer is a 500 or holds a
traceback, and every /api/ answer is the report envelope (succ with 200, fail otherwise)."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
import test_errors as errs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forensics.reports import list_reports

# Routes the OpenAPI document leaves out (HTML pages and pcap downloads), with their path parameters' types.
PAGES = {"/": {}, "/alerts.html": {}, "/report/{name}.html": {"name": "string"},
         "/carve/{name}/{item}.pcap": {"name": "string", "item": "integer"},
         "/alerts/{alert_id}.pcap": {"alert_id": "integer"}}
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24)
_names = st.sampled_from(sorted(list_reports().names()) + ["alerts", "no_such", "../etc", ""]) | _text


def _strategy(name: str, schema: dict, where: str) -> st.SearchStrategy:
    """Values for one parameter: its type in and out of range, text of any kind, and this server's own words."""
    kinds = [s.get("type") for s in schema.get("anyOf", [schema])]
    if name == "request":
        return st.builds(json.dumps, errs._requests) | _text
    if "integer" in kinds:
        lo, hi = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63)
        ints = st.integers(lo, hi) | st.integers(lo - 3, lo + 3) | st.integers(hi - 3, hi + 3) | st.integers()
        return st.builds(str, ints) | (_text if where == "query" else st.builds(str, ints))
    if where == "path" and name == "name":
        return _names
    return _text


def _operations(client) -> list[tuple[str, dict[str, tuple[str, dict]]]]:
    spec = client.get("/openapi.json").json()
    ops = []
    for path, item in spec["paths"].items():
        assert set(item) == {"get"}, path  # read-only: GET only
        ops.append((path, {p["name"]: (p["in"], p.get("schema", {})) for p in item["get"].get("parameters", [])}))
    for path, params in PAGES.items():
        ops.append((path, {n: ("path", {"type": t}) for n, t in params.items()}))
    return ops


@pytest.fixture(scope="module")
def operations(client):
    ops = _operations(client)
    assert {"/api/report/internet/summary", "/api/report/{name}", "/api/alerts", "/api/captures",
            "/api/output/{name}.json", "/api/reports"} <= {p for p, _ in ops}
    return ops


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_operation_never_500s(client, validate, operations, data):
    path, params = data.draw(st.sampled_from(operations), label="operation")
    url, query = path, {}
    for name, (where, schema) in params.items():
        if where == "query" and data.draw(st.booleans(), label=f"omit {name}"):
            continue
        value = data.draw(_strategy(name, schema, where), label=name)
        if where == "path":
            url = url.replace("{" + name + "}", quote(value, safe=""))
        else:
            query[name] = value
    assert not re.search(r"\{\w+\}", url)
    r = client.get(url, params=query)
    assert r.status_code < 500 or r.status_code == 499, (url, query, r.text[:300])
    assert "Traceback" not in r.text
    if url.startswith("/api/"):
        # a report's answer is the report envelope; /api/report/alerts, like /api/alerts, lists the alerts table
        report = ("/output/" in url or "/report/" in url) and not url.endswith("/report/alerts")
        doc = validate(r.json()) if r.status_code != 200 or report else r.json()
        assert (doc["response"]["status"] == "succ") == (r.status_code == 200), (url, query, r.text[:300])
