"""The JSON envelope: every report validates against the shipped schema and carries the result exactly."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import jsonschema
import pytest
from flowgen import load_case
from render_values import WINDOW

from forensics.render import render
from forensics.render.jsonout import error_envelope, iso_z
from forensics.reports import SITE_REPORTS, run_report
from tests.inprocess import cli

# GenieATM's report paths; Origin ASN as its manual writes it (issue 10), the others in its menu's style.
GENIEATM_PATHS = {"internet_summary": "Internet>Summary", "origin_as": "Internet>Breakdown>Origin ASN",
                  "subnetwork_compare": "Sub-network>Sub-network Compare", "filter_compare": "Filter>Filter Compare"}

CLI = [sys.executable, "-c", "import sys; sys.argv[0] = 'forensics'; from forensics.cli import main; main()"]


@pytest.mark.parametrize("name", SITE_REPORTS)
def test_every_report_validates_and_matches_the_result(results, validate, name):
    result = results[name]
    doc = validate(json.loads(render(result, "json", output_file="out.json")))
    data = doc["response"]["result"]["data"]
    assert doc["response"]["result"]["output_file"] == "out.json"
    assert (data["report_name"], data["unit"], data["aggregation_unit"]) == (name, "bps", "5 min")
    assert (data["aggregation_seconds"], data["ip version"], data["ip_version"]) == (300, "Both", 0)
    assert data["report"] == GENIEATM_PATHS.get(name, f"Forensics>{result.title}")
    assert (data["datetime_start"], data["datetime_end"]) == (iso_z(result.start), iso_z(result.end))
    assert len(data["sections"]) == len(result.sections)
    for sec_doc, section in zip(data["sections"], result.sections, strict=True):
        picks = [section.measures.index(m) for m in sec_doc["measures"]]
        assert set(sec_doc["units"]) == set(section.measures) and sec_doc["item_count"] == len(section.items)
        assert list(sec_doc["value"]) == [iso_z(t) for t in result.bins()]  # every bin, empty ones too
        for i, item in enumerate(section.items):
            key = f"item{i + 1}"
            assert sec_doc["items"][key] == (["Others"] if item.others else [n or "-" for n in item.names])
            assert sec_doc["total"][key] == [item.values[j] for j in picks]
            for t in result.bins():
                row = section.series.get(t, {})
                want = [row[i][j] for j in picks] if i in row else [0.0] * len(picks)
                assert sec_doc["value"][iso_z(t)][key] == want
    assert data["data"]["items"] == data["sections"][0]["items"]


def test_directional_reports_give_in_out_pairs(results):
    doc = json.loads(render(results["top_talkers"], "json"))
    data = doc["response"]["result"]["data"]["data"]
    assert data["measures"] == ["in", "out"]
    assert all(len(v) == 2 for row in data["value"].values() for v in row.values())


def test_failure_envelope_validates(validate):
    validate(error_envelope("no report called 'x'", 2, "UsageError"))
    with pytest.raises(jsonschema.ValidationError):
        validate({"response": {"status": "fail", "err": {"msg": ""}}})


def test_cli_json_success_and_failure(flows, tmp_path, validate):
    db = str(tmp_path / "cli.duckdb")
    load_case(db, flows).close()
    ok = cli("report", "internet_summary", "--db", db, "--format", "json", "--from", WINDOW["from"], "--to",
             WINDOW["to"])  # in-process: what it answers; the failures' exit codes and envelopes: the process
    assert ok.returncode == 0, ok.stderr
    validate(json.loads(ok.stdout))
    bad = subprocess.run([*CLI, "report", "no_such_report", "--db", db, "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    doc = validate(json.loads(bad.stdout))
    assert doc["response"]["status"] == "fail" and "no_such_report" in doc["response"]["err"]["msg"]
    bad_filter = subprocess.run([*CLI, "report", "top_talkers", "--db", db, "--format", "json", "--filter",
                                 "tcp and"], capture_output=True, text=True, timeout=120)
    assert bad_filter.returncode == 2
    assert "filter column" in validate(json.loads(bad_filter.stdout))["response"]["err"]["msg"]


def test_empty_case_json_validates(tmp_path, validate):
    from forensics.reports import run_report
    from forensics.store import Case

    with Case.open(tmp_path / "empty.duckdb") as c:
        result = run_report(c, "wannacry", {"from": "2016-09-06T00:00:00Z", "to": "2016-09-06T01:00:00Z"})
    data = validate(json.loads(render(result, "json")))["response"]["result"]["data"]
    assert data["data"]["items"] == {} and len(data["data"]["value"]) == 12


@pytest.mark.parametrize("bin_size, label, secs", [("1800", "30 min", 1800), ("2h", "2 hour", 7200),
                                                   ("1d", "1 day", 86400), ("90", "90 sec", 90)])
def test_aggregation_unit_as_genieatm_writes_it(case, config, validate, bin_size, label, secs):
    result = run_report(case, "origin_as", {**WINDOW, "bin": bin_size}, config=config)
    data = validate(json.loads(render(result, "json")))["response"]["result"]["data"]
    assert (data["aggregation_unit"], data["aggregation_seconds"]) == (label, secs)
    assert data["report"] == "Internet>Breakdown>Origin ASN" and data["report_name"] == "origin_as"


@pytest.mark.parametrize("version, label", [("4", "IPv4"), ("6", "IPv6"), ("both", "Both")])
def test_ip_version_as_genieatm_writes_it(case, config, validate, version, label):
    result = run_report(case, "internet_summary", {**WINDOW, "ip_version": version}, config=config)
    data = validate(json.loads(render(result, "json")))["response"]["result"]["data"]
    assert data["ip version"] == label and data["ip_version"] == {"4": 4, "6": 6, "both": 0}[version]
    assert data["report"] == "Internet>Summary"


def test_schema_rejects_the_old_non_genieatm_strings(results, validate):
    doc = json.loads(render(results["origin_as"], "json"))
    validate(doc)
    data = doc["response"]["result"]["data"]
    for key, old in (("aggregation_unit", "5min"), ("ip version", "IPv4+IPv6"), ("report", "origin_as")):
        bad = json.loads(json.dumps(doc))
        bad["response"]["result"]["data"][key] = old
        with pytest.raises(jsonschema.ValidationError):
            validate(bad)
    units = results["origin_as"].measure_units
    assert {"in", "out", "total"} <= data["units"].keys() and units["in"] == "bps (IP layer)"
    assert data["units"] == {m: units[m] for m in data["units"]}


def test_units_name_the_layer_the_result_gives(results, validate):
    result = dataclasses.replace(results["top_talkers"], measure_units={
        "in": "bps (IP layer)", "out": "bps (IP layer)", "total": "bps (IP layer)"}, binning="packet-time",
        notes=["a note"])
    data = validate(json.loads(render(result, "json")))["response"]["result"]["data"]
    assert data["units"]["in"] == "bps (IP layer)" and data["data"]["units"]["total"] == "bps (IP layer)"
    assert (data["binning"], data["notes"]) == ("packet-time", ["a note"])


def test_one_line_per_bin_is_the_same_document(results):
    from forensics.render.jsonout import envelope

    for name in ("top_talkers", "wannacry"):
        text = render(results[name], "json")
        assert json.loads(text) == envelope(results[name])
        value = envelope(results[name])["response"]["result"]["data"]["data"]["value"]
        first = next(iter(value))
        assert sum(1 for ln in text.splitlines() if ln.strip().startswith(f'"{first}": {{"item1": [')) >= 2
