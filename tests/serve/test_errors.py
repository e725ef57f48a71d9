"""Every bad parameter gets GenieATM's fail envelope naming it, with the right HTTP status; never a 500 and
never a traceback, whatever the request holds (Hypothesis writes requests too)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_helpers import ask

SUMMARY = "/api/report/internet/summary"
GOOD_WINDOW = {"start_time": "2016-09-06 12:00", "end_time": "2016-09-06 14:00"}
# (path, request, status, what err.msg must name)
BAD = [
    (SUMMARY, {"report_datetime": {"defined_by": "daily", "end_time": "2016-13-01 00:00"}}, 400,
     "request.report_datetime.end_time"),
    (SUMMARY, {"report_datetime": {"defined_by": "daily", "end_time": "2016-09-07T00:00:00Z"}}, 400,
     "request.report_datetime.end_time"),
    (SUMMARY, {"report_datetime": {"defined_by": "daily", "end_time": "2016-02-30 00:00"}}, 400,
     "request.report_datetime.end_time"),
    (SUMMARY, {"report_datetime": {"defined_by": "hourly", "end_time": "2016-09-07 00:00"}}, 400,
     "request.report_datetime.defined_by"),
    (SUMMARY, {"report_datetime": {"defined_by": "daily"}}, 400, "request.report_datetime.end_time"),
    (SUMMARY, {"report_datetime": {"end_time": "2016-09-07 00:00"}}, 400, "request.report_datetime.start_time"),
    (SUMMARY, {"report_datetime": {"start_time": "2016-09-07 00:00", "end_time": "2016-09-06 00:00"}}, 400,
     "request.report_datetime.end_time"),
    (SUMMARY, {"report_datetime": {"start_time": "1971-01-01 00:00", "end_time": "9999-12-31 23:59"}}, 400,
     "over the limit"),
    (SUMMARY, {"report_datetime": {"start_time": "0001-01-01 00:00", "end_time": "2016-09-06 00:00"}}, 400,
     "request.report_datetime"),
    (SUMMARY, {"report_datetime": {"defined_by": "daily", "end_time": "2016-09-07 00:00", "zone": "x"}}, 400,
     "request.report_datetime.zone"),
    (SUMMARY, {"report_datetime": "last week"}, 400, "request.report_datetime"),
    (SUMMARY, {"unit": "kbps"}, 400, "request.unit"),
    (SUMMARY, {"unit": 5}, 400, "request.unit"),
    (SUMMARY, {"protocol": "ipv5"}, 400, "request.protocol"),
    (SUMMARY, {"data_format": "table_data"}, 400, "request.data_format"),
    (SUMMARY, {"display_data": "maybe"}, 400, "request.display_data"),
    (SUMMARY, {"filter_group_id": 1}, 400, "request.filter_group_id"),
    (SUMMARY, {"top": 0}, 400, "request.top"),
    (SUMMARY, {"filter": "tcp port"}, 400, "filter"),
    (SUMMARY, {"scope": "subnetwork:nowhere"}, 400, "nowhere"),
    (SUMMARY, {"params": {"nonsense": 1}}, 400, "nonsense"),
    (SUMMARY, {"params": {"bin_secs": 1}}, 400, "request.params.bin_secs"),
    ("/api/report/filter/compare", {"filter_group_id": 99}, 400, "request.filter_group_id"),
    ("/api/report/filter/compare", {"filter_group_id": "nope"}, 400, "request.filter_group_id"),
    ("/api/report/filter/compare", {"filter_group_id": [1]}, 400, "request.filter_group_id"),
    ("/api/report/sub-network/compare", {"sub_network_group_id": 0}, 400, "request.sub_network_group_id"),
    ("/api/report/sub-network/compare", {"sub_network_group_id": "nope"}, 400, "request.sub_network_group_id"),
    ("/api/report/top_talkers", {"params": {"top": "many"}}, 400, "top"),
    ("/api/report/top_talkers", {"params": {"top": 10**12}}, 400, "request.params.top"),
    ("/api/report/attributes", {"params": {"top": -1}}, 400, "request.params.top"),
    ("/api/report/no_such_report", {}, 404, "no_such_report"),
    (SUMMARY, "{not json", 400, "request"),
    (SUMMARY, "[1, 2]", 400, "request"),
    (SUMMARY, "x" * 20000, 400, "request"),
]


@pytest.mark.parametrize("path,request_doc,status,named", BAD, ids=[f"{i}" for i in range(len(BAD))])
def test_bad_parameter_gets_a_fail_envelope_naming_it(client, validate, path, request_doc, status, named):
    r = ask(client, path, request_doc)
    assert r.status_code == status, r.text
    doc = validate(r.json())
    err = doc["response"]["err"]
    assert doc["response"]["status"] == "fail"
    assert named in err["msg"] and err["code"] == status and err["description"]
    assert "\n" not in err["msg"] and "Traceback" not in r.text


def test_a_good_window_passes_the_same_checks(client, validate):
    r = ask(client, SUMMARY, {"report_datetime": GOOD_WINDOW, "protocol": "IPv4", "unit": "PPS"})
    assert r.status_code == 200, r.text
    data = validate(r.json())["response"]["result"]["data"]
    assert (data["unit"], data["ip version"], data["datetime_start"]) == ("pps", "IPv4", "2016-09-06T12:00:00Z")


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_only_get(client, validate, method):
    r = getattr(client, method)(SUMMARY)
    assert r.status_code == 405
    assert validate(r.json())["response"]["err"]["code"] == 405


def test_unknown_api_path_and_bad_query_are_fail_envelopes(client, validate):
    r = client.get("/api/nothing/here")
    assert r.status_code == 404 and validate(r.json())["response"]["status"] == "fail"
    r = client.get("/api/alerts", params={"limit": "lots"})
    assert r.status_code == 400 and "limit" in validate(r.json())["response"]["err"]["msg"]


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=3),
                            max_leaves=8)
_keys = st.sampled_from(["report_datetime", "unit", "protocol", "data_format", "display_data", "filter_group_id",
                         "sub_network_group_id", "scope", "filter", "top", "params", "other"])
_params = st.dictionaries(st.sampled_from(["top", "attributes", "kind", "group", "x"]),
                          st.integers() | st.text(max_size=12) | st.booleans(), max_size=2)
_times = st.sampled_from(["2016-09-06 12:00", "2016-09-07 00:00", "2016-09-06 13:00", "1970-01-01 00:00",
                          "2016-9-6 12:00", "", "9999-12-31 23:59"])
_windows = st.fixed_dictionaries({}, optional={
    "defined_by": st.sampled_from(["daily", "weekly", "monthly", "quarterly", "yearly", "user_defined", "x"]),
    "start_time": _times, "end_time": _times})
_requests = st.dictionaries(_keys, _json_values | _windows | _params
                            | st.sampled_from(["bps", "pps", "ipv4", "both", "yes"]), max_size=5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/api/report/internet/summary", "/api/report/internet/originasn",
                             "/api/report/filter/compare", "/api/report/sub-network/compare",
                             "/api/report/top_talkers", "/api/report/attributes"]),
       request_doc=_requests)
def test_any_request_is_an_envelope_never_a_500(client, validate, path, request_doc):
    r = client.get(path, params={"request": json.dumps(request_doc)})
    assert r.status_code in (200, 400, 404), r.text
    doc = validate(r.json())
    assert (doc["response"]["status"] == "succ") == (r.status_code == 200)
    assert "Traceback" not in r.text
