"""GenieATM's four report paths answer its request form with its envelope, and the same document as
`forensics report --format json` (run as a process) for the same report and parameters."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from serve_helpers import ask

from tests.inprocess import cli

ROOT = Path(__file__).resolve().parents[2]
WEEK = {"defined_by": "weekly", "end_time": "2016-09-07 00:00"}
SPAN = {"start_time": "2016-09-06 12:00", "end_time": "2016-09-06 14:00"}
COMMON = {"data_format": "graph_data", "display_data": "yes"}
# (path, GenieATM request, the CLI arguments that ask for the same report)
EXAMPLES = {
    "originasn_weekly": ("/api/report/internet/originasn",
                         {"report_datetime": WEEK, "unit": "bps", "protocol": "both", **COMMON},
                         ["origin_as", "--period", "weekly", "--end", "2016-09-07T00:00:00Z", "--unit", "bps"]),
    "summary": ("/api/report/internet/summary",
                {"report_datetime": SPAN, "unit": "pps", "protocol": "ipv4", **COMMON},
                ["internet_summary", "--from", "2016-09-06T12:00:00Z", "--to", "2016-09-06T14:00:00Z",
                 "--unit", "pps", "--ip-version", "4"]),
    "filter_compare": ("/api/report/filter/compare",
                       {"report_datetime": {"defined_by": "daily", "end_time": "2016-09-06 14:00"},
                        "unit": "bps", "protocol": "both", "filter_group_id": 2, **COMMON},
                       ["filter_compare", "--period", "daily", "--end", "2016-09-06T14:00:00Z",
                        "--param", "group=windows"]),
    "subnetwork_compare": ("/api/report/sub-network/compare",
                           {"report_datetime": SPAN, "unit": "bps", "protocol": "ipv6",
                            "sub_network_group_id": "campus", **COMMON},
                           ["subnetwork_compare", "--from", "2016-09-06T12:00:00Z", "--to", "2016-09-06T14:00:00Z",
                            "--ip-version", "6"]),
}
# The case config the CLI gets for the sub-network group: the group's members only (what the group id means).
CAMPUS_ONLY = """
[subnetworks]
lab = ["10.1.0.0/16"]
v6 = ["fd00::/16"]
[subnetwork_groups]
campus = ["lab", "v6"]
"""
VOLATILE = ("generated_at", "notes", "config")


def _cli(case_path: Path, args: list[str], config: Path | None) -> subprocess.CompletedProcess:
    """`forensics report ... --format json` in-process (tests.inprocess.cli): the document is what is compared."""
    cmd = ["report", *args, "--format", "json", "--db", str(case_path)]
    if config is not None:
        cmd += ["--config", str(config)]
    return cli(*cmd)


def _data(doc: dict) -> dict:
    data = dict(doc["response"]["result"]["data"])
    for key in VOLATILE:
        data.pop(key, None)
    return data


@pytest.fixture(scope="module")
def cli_docs(case_path, tmp_path_factory):
    """Each example's `forensics report --format json` document."""
    campus = tmp_path_factory.mktemp("cfg") / "campus.toml"
    campus.write_text(CAMPUS_ONLY)
    docs = {}
    for key, (_, _, args) in EXAMPLES.items():
        proc = _cli(case_path, args, campus if key == "subnetwork_compare" else None)
        assert proc.returncode == 0, proc.stderr
        docs[key] = json.loads(proc.stdout)
    return docs


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_example_request_equals_the_cli_json(client, validate, cli_docs, example):
    path, request, _ = EXAMPLES[example]
    r = ask(client, path, request)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    doc = validate(r.json())
    data = doc["response"]["result"]["data"]
    # GenieATM's keys and types
    assert doc["response"]["status"] == "succ"
    assert isinstance(data["report"], str) and ">" in data["report"]
    assert data["unit"] == request["unit"]
    assert data["aggregation_unit"] in ("5 min", "30 min", "2 hour", "1 day")
    assert data["ip version"] == {"both": "Both", "ipv4": "IPv4", "ipv6": "IPv6"}[request["protocol"]]
    assert data["datetime_start"].endswith("Z") and data["datetime_end"].endswith("Z")
    items, value = data["data"]["items"], data["data"]["value"]
    assert items, "the generated case has traffic in every example's window"
    assert all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in items.values())
    for per_item in value.values():
        assert set(per_item) == set(items)
    # the same document as the CLI's, numbers and all
    assert _data(doc) == _data(cli_docs[example])


def test_report_paths_are_genieatms(client):
    expected = {"/api/report/internet/summary": "Internet>Summary",
                "/api/report/internet/originasn": "Internet>Breakdown>Origin ASN",
                "/api/report/filter/compare": "Filter>Filter Compare",
                "/api/report/sub-network/compare": "Sub-network>Sub-network Compare"}
    for path, report in expected.items():
        r = ask(client, path, {"display_data": "no"})
        assert r.status_code == 200, r.text
        assert r.json()["response"]["result"]["data"]["report"] == report


def test_group_ids_by_name_and_by_position_choose_the_groups_members(client):
    def items(path, request):
        r = ask(client, path, {**request, "display_data": "yes", "report_datetime": SPAN})
        assert r.status_code == 200, r.text
        return {v[0] for v in r.json()["response"]["result"]["data"]["data"]["items"].values()}

    assert items("/api/report/filter/compare", {"filter_group_id": 1}) == {"web"}
    assert items("/api/report/filter/compare", {"filter_group_id": "windows"}) == {"smb", "dns"}
    assert items("/api/report/filter/compare", {}) == {"web", "smb", "dns"}
    assert items("/api/report/sub-network/compare", {"sub_network_group_id": 2}) == {"office"}
    assert items("/api/report/sub-network/compare", {"sub_network_group_id": "1"}) == {"lab", "v6"}
    assert items("/api/report/sub-network/compare", {}) == {"lab", "office", "v6"}


def test_group_members_keep_the_numbers_of_the_whole_compare(client):
    def totals(request):
        r = ask(client, "/api/report/sub-network/compare", {**request, "display_data": "yes"})
        data = r.json()["response"]["result"]["data"]["data"]
        return {data["items"][k][0]: data["total"][k] for k in data["items"]}

    whole, campus = totals({}), totals({"sub_network_group_id": "campus"})
    assert campus == {k: whole[k] for k in ("lab", "v6")}


def test_display_data_and_output_file(client, validate):
    request = {"report_datetime": WEEK, "unit": "bps"}
    r = ask(client, "/api/report/internet/originasn", request)
    assert r.status_code == 200
    brief = r.json()["response"]["result"]
    assert "data" not in brief["data"] and "sections" not in brief["data"]
    assert brief["data"]["report"] == "Internet>Breakdown>Origin ASN"
    # output_file is a path under the server that downloads the whole result as a JSON file
    url = urlsplit(brief["output_file"])
    assert url.scheme == "" and url.path == "/api/output/origin_as.json"
    got = client.get(brief["output_file"])
    assert got.status_code == 200
    assert got.headers["content-disposition"] == 'attachment; filename="origin_as.json"'
    full = validate(got.json())
    shown = validate(ask(client, "/api/report/internet/originasn", {**request, "display_data": "yes"}).json())
    assert _data(full) == _data(shown)
    assert {k: v for k, v in _data(full).items() if k not in ("data", "sections")} == \
        {k: v for k, v in brief["data"].items() if k not in VOLATILE}


def test_any_report_by_name_and_a_user_report(case_path, tmp_path, validate):
    from fastapi.testclient import TestClient

    from forensics.config import load_config
    from forensics.serve import CaseSource, create_app

    (tmp_path / "flow_count.sql").write_text(
        "-- name: flow_count\n-- title: Flow count\n-- description: flows per protocol\n"
        "-- param: from_ts TIMESTAMP\n-- param: to_ts TIMESTAMP\n-- param: bin_secs BIGINT = 300\n"
        "-- dimensions: proto\n-- measures: flows\n-- unit: count\n"
        "SELECT CAST(ip_proto AS INTEGER) AS rank, CAST(ip_proto AS VARCHAR) AS proto,\n"
        "       time_bin(first_ts, $bin_secs) AS bin, count(*) AS flows\n"
        "FROM flows WHERE first_ts >= $from_ts AND first_ts < $to_ts GROUP BY ALL\n"
        "UNION ALL SELECT CAST(ip_proto AS INTEGER), CAST(ip_proto AS VARCHAR), NULL, count(*)\n"
        "FROM flows WHERE first_ts >= $from_ts AND first_ts < $to_ts GROUP BY ip_proto\n")
    source = CaseSource(str(case_path), load_config(None, str(case_path)), (str(tmp_path),))
    with TestClient(create_app(source), raise_server_exceptions=False) as c:
        r = ask(c, "/api/report/flow_count", {"display_data": "yes"})
        assert r.status_code == 200, r.text
        data = validate(r.json())["response"]["result"]["data"]
        assert data["report"] == "Forensics>Flow count"
        assert sum(v[0] for v in data["data"]["total"].values()) == 300  # every generated flow, once
        r = ask(c, "/api/report/top_talkers", {"top": 3, "display_data": "yes"})
        assert len(validate(r.json())["response"]["result"]["data"]["data"]["items"]) <= 4  # 3 + Others
        names = {x["name"] for x in c.get("/api/reports").json()["response"]["result"]["data"]["reports"]}
        assert {"flow_count", "top_talkers", "origin_as", "wannacry"} <= names


def test_openapi_document_describes_the_api(client):
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/report/internet/summary", "/api/report/internet/originasn", "/api/report/filter/compare",
                 "/api/report/sub-network/compare", "/api/report/{name}", "/api/output/{name}.json", "/api/alerts"):
        assert set(doc["paths"][path]) == {"get"}, path
    params = doc["paths"]["/api/report/internet/originasn"]["get"]["parameters"]
    assert [p["name"] for p in params] == ["request"] and params[0]["in"] == "query"
