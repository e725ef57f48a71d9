"""`forensics report` and `forensics reports` as a user runs them (subprocess, real case file)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from flowgen import load_case
from render_values import WINDOW

from tests.inprocess import cli

CLI = [sys.executable, "-c", "import sys; sys.argv[0] = 'forensics'; from forensics.cli import main; main()"]


def forensics(*args, cwd=None):
    """The real process: exit codes, stderr lines, a pipe for stdout (answers are checked in-process: cli)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.fixture(scope="module")
def db(flows, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "case.duckdb"
    load_case(str(path), flows).close()
    return str(path)


def test_output_file_format_from_extension(db, tmp_path, validate):
    out = tmp_path / "talkers.json"
    done = cli("report", "top_talkers", "--db", db, "--from", WINDOW["from"], "--to", WINDOW["to"],
                     "-o", str(out), "--param", "top=3")
    assert done.returncode == 0, done.stderr
    doc = validate(json.loads(out.read_text()))
    data = doc["response"]["result"]["data"]
    assert doc["response"]["result"]["output_file"] == str(out)
    assert len(data["data"]["items"]) == 4 and data["data"]["items"]["item4"] == ["Others"]
    html = tmp_path / "talkers.html"
    assert cli("report", "top_talkers", "--db", db, "-o", str(html)).returncode == 0
    assert html.read_text().startswith("<!DOCTYPE html>")


def test_table_csv_and_bad_param(db):
    done = cli("report", "internet_summary", "--db", db, "--format", "table", "--unit", "pps",
                     "--ip-version", "4")
    assert done.returncode == 0 and "Into Home" in done.stdout and "pps" in done.stdout and "IPv4" in done.stdout
    done = cli("report", "protocol_mix", "--db", db, "--format", "csv")
    assert done.stdout.splitlines()[0] == ("section,rank,others,proto,bin,in [bps (IP layer)],out [bps (IP layer)],"
                                           "total [bps (IP layer)],bytes [bytes (IP layer)],packets [packets],"
                                           "flows [flows],coverage")  # what the case holds per bin
    done = forensics("report", "top_talkers", "--db", db, "--format", "table", "--param", "top")
    assert done.returncode == 2 and "--param 'top': write NAME=VALUE" in done.stderr


def test_reports_lists_parameters_and_names_broken_definitions(tmp_path):
    (tmp_path / "broken.sql").write_text("-- name: broken\n-- title: Broken\n-- measures: total\n"
                                         "-- param: x INTEGER\nSELECT 1\n")
    done = forensics("reports", "--queries", str(tmp_path))
    assert done.returncode == 1
    assert "--param attributes VARCHAR = 'src_ip,dst_ip'" in done.stdout
    assert f"{tmp_path / 'broken.sql'}:4: parameter(s) declared but not used: x" in done.stderr
    listed = json.loads(cli("reports", "--json").stdout)
    assert {r["name"] for r in listed["reports"]} >= {"wannacry", "internet_summary", "attributes"}


def test_piped_output_is_a_table_unless_json_is_asked(db, validate):
    piped = forensics("report", "top_talkers", "--db", db)  # stdout is a pipe here, not a terminal
    assert piped.returncode == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert lines[0] == "Top talkers (top_talkers)" and any(ln.split()[:2] == ["#", "ip"] for ln in lines)
    as_json = cli("report", "top_talkers", "--db", db, "--json")
    assert as_json.returncode == 0, as_json.stderr
    assert validate(json.loads(as_json.stdout))["response"]["status"] == "succ"
    clash = forensics("report", "top_talkers", "--db", db, "--json", "--format", "csv")
    assert clash.returncode == 2 and "--json and --format csv" in clash.stderr
