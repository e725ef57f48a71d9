"""Case config validation: every kind of mistake is one line naming the file, the LINE and the key (exit 2).

Also the IANA time zone of business hours (checked against zoneinfo's own conversion), the [checks.NAME]
tables handed to the check runner as written, and the files a config names (issue 10): devices, FIFOs,
folders and huge files are refused without being opened.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest

from forensics.config import MAX_CONFIG_FILE_BYTES, SECTIONS, config_from_text, load_config
from forensics.errors import UsageError
from tests.inprocess import cli

ROOT = Path(__file__).resolve().parents[2]


def error_of(text: str, base: Path | None = None) -> str:
    with pytest.raises(UsageError) as err:
        config_from_text(text, "case/forensics.toml", base)
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of `text` containing `needle` (computed from the input, not the tool)."""
    return next(i for i, ln in enumerate(text.splitlines(), start=1) if needle in ln)


CASES = [
    # (config text, the text on the offending line, the key named, a fragment of the reason)
    ('[home]\nnetwork = ["10.0.0.0/8"]\n', "network =", "[home] network", "did you mean 'networks'"),
    ('[subnetworks]\nlab = ["10.1.0.0/16"]\n\n[business_hours]\nstart = "08:00"\ntimezon = "UTC"\n',
     "timezon", "[business_hours] timezon", "unknown key"),
    ('[business_hours]\ndays = ["mon"]\nstart = 8\n', "start = 8", "[business_hours] start",
     "expected a time of day as a string"),
    ('[[interfaces]]\nifindex = 1\n\n[[interfaces]]\nifindex = "two"\n', 'ifindex = "two"',
     "[[interfaces]] #2 ifindex", "expected a whole number"),
    ('[[interfaces]]\nifindex = 1\nboundry = true\n', "boundry", "[[interfaces]] #1 boundry",
     "did you mean 'boundary'"),
    ('[home]\nnetworks = [\n  "10.0.0.0/8",\n  "10.300.0.0/16",\n]\n', "10.300.0.0/16", "[home] networks",
     "'10.300.0.0/16' is not a CIDR block"),
    ('[subnetworks]\nlab = [\n  "10.1.0.0/16",\n  "10.1",\n]\n', '"10.1"', "[subnetworks] lab",
     "'10.1' is not a CIDR block"),
    ('[server_farms]\nweb = ["10.0.5.0/24"]\ndns = "10.0.0.53/33"\n', "dns =", "[server_farms] dns",
     "is not a CIDR block"),
    ('[business_hours]\ntimezone = "Europe/Rom"\n', "timezone", "[business_hours] timezone",
     "is not an IANA time zone"),
    ('[business_hours]\ntimezone = "../../etc/passwd"\n', "timezone", "[business_hours] timezone",
     "is not an IANA time zone"),
    ('[home]\nnetworks = ["10.0.0.0/8"]\n[hmoe]\nnetworks = []\n', "[hmoe]", "[hmoe]", "did you mean [home]"),
    ('[filters.out]\nscope = "home"\ncondition = "proto = tcp"\n', "condition =", "[filters.out] condition",
     "did you mean 'conditions'"),
    ('[filters]\nsmb = { scope = "galaxy", conditions = "proto = tcp" }\n', "smb =", "[filters.smb] scope",
     "scope 'galaxy'"),
    ('[subnetworks]\nlab = ["10.1.0.0/16"]\n[subnetwork_groups]\ncampus = ["lab", "labb"]\n', "campus",
     "[subnetwork_groups] campus", "'labb' is not a subnetwork"),
    ('[applications]\nweb = 80\n', "web = 80", "[applications] web", "expected a string"),
    ('[reports]\nqueries = "no_such_folder"\n', "queries", "[reports] queries", "does not exist"),
    ('[checks]\nsyn_scan = 5\n', "syn_scan", "[checks] syn_scan", "sub-table"),
    ('home = "10.0.0.0/8"\n', "home =", "[home]", "must be a table"),
    ('[business_hours]\nstart = "18:00"\nend = "08:00"\n', "end =", "[business_hours] end", "must be after start"),
]


@pytest.mark.parametrize("text, needle, key, reason", CASES)
def test_each_mistake_names_file_line_and_key(text, needle, key, reason, tmp_path):
    msg = error_of(text, tmp_path)
    assert msg.startswith(f"case/forensics.toml:{line_of(text, needle)}: "), msg
    assert key in msg and reason in msg, msg


def test_every_section_of_the_table_is_accepted_and_read(tmp_path):
    (tmp_path / "asn.csv").write_text("prefix,asn,name\n8.8.8.0/24,15169,GOOGLE\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "users.htpasswd").write_text("bob:$2b$04$FyiXpEVPTQwR/gm3dGs3nOlOphO9yHIEkSFBQKsgnpAH3zd1Q20fS\n")
    text = """
[home]
networks = ["10.0.0.0/8"]
[subnetworks]
lab = "10.1.0.0/16"
[subnetwork_groups]
campus = ["lab"]
[applications]
web = "tcp 80,443"
[[interfaces]]
ifindex = 2
name = "uplink"
boundary = true
exporter = "10.0.0.1"
[server_farms]
dns = ["10.0.0.53/32"]
[filters.out]
scope = "home"
conditions = "src ip in HOME"
tcpdump = "tcp"
[filter_groups]
g = ["out"]
[as_mapping]
csv = "asn.csv"
[business_hours]
days = ["mon", "sat"]
start = 07:30:00
end = "19:00"
timezone = "America/New_York"
[reports]
queries = ["mine"]
[checks.syn_scan]
min_ports = 100
note = "anything the check declares"
[checks.after_hours]
[serve]
users_file = "users.htpasswd"
[serve.users]
alice = "$2b$04$FyiXpEVPTQwR/gm3dGs3nOlOphO9yHIEkSFBQKsgnpAH3zd1Q20fS"
[retain]
raw = "30d"
flows = "13w"
"""
    cfg = config_from_text(text, str(tmp_path / "forensics.toml"), tmp_path)
    assert set(SECTIONS) == {ln.strip("[]").split(".")[0] for ln in text.splitlines() if ln.startswith("[")}
    assert cfg.business_hours.timezone == "America/New_York"
    assert (cfg.retain_raw_secs, cfg.retain_flows_secs) == (30 * 86400, 13 * 7 * 86400)
    assert cfg.business_hours.zone == zoneinfo.ZoneInfo("America/New_York")
    assert (cfg.business_hours.days, cfg.business_hours.start_min, cfg.business_hours.end_min) == ((0, 5), 450, 1140)
    assert cfg.checks == {"syn_scan": {"min_ports": 100, "note": "anything the check declares"}, "after_hours": {}}
    assert cfg.where("checks", "syn_scan", "min_ports") == \
        f"{tmp_path / 'forensics.toml'}:{line_of(text, 'min_ports')}: [checks.syn_scan] min_ports"
    assert cfg.summary()["business_hours"]["timezone"] == "America/New_York"
    assert [a.asn for a in cfg.as_prefixes] == [15169]
    assert cfg.queries_dirs == (str(tmp_path / "mine"),)
    assert cfg.serve_users == {"alice": "$2b$04$FyiXpEVPTQwR/gm3dGs3nOlOphO9yHIEkSFBQKsgnpAH3zd1Q20fS"}
    assert cfg.serve_users_file == str(tmp_path / "users.htpasswd")


def test_default_time_zone_is_utc():
    assert config_from_text("", "t").business_hours.timezone == "UTC"


def test_business_scope_uses_the_time_zone(tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "reports"))
    from flowgen import load_case, make_flows

    from forensics.reports.context import install_context
    from forensics.reports.scopes import scope_sql

    flows = make_flows(300, seed=5)
    rome = zoneinfo.ZoneInfo("Europe/Rome")
    cfg = config_from_text('[business_hours]\ndays = ["tue"]\nstart = "14:30"\nend = "15:10"\n'
                           'timezone = "Europe/Rome"\n', "t")

    def inside(f):  # the flow's start in Rome's local time (CEST, UTC+2 on 2016-09-06)
        local = f.ts.replace(tzinfo=dt.timezone.utc).astimezone(rome)
        return local.weekday() == 1 and dt.time(14, 30) <= local.time() < dt.time(15, 10)

    want = sorted(f.bytes for f in flows if inside(f))
    assert 0 < len(want) < len(flows)
    case = load_case(str(tmp_path / "case.duckdb"), flows)
    try:
        install_context(case.con, cfg)
        got = {}
        for scope in ("business", "after_hours"):
            params: dict = {}
            where = scope_sql(scope, cfg, params)
            got[scope] = sorted(r[0] for r in case.con.execute(f"SELECT bytes FROM flows WHERE {where}",
                                                               params).fetchall())
    finally:
        case.close()
    assert got["business"] == want
    assert len(got["after_hours"]) == len(flows) - len(want)


# --- files the config names (issue 10) ---------------------------------------------------------------------

def _as_config(tmp_path: Path, target: str) -> Path:
    cfg = tmp_path / "forensics.toml"
    cfg.write_text(f'[home]\nnetworks = ["10.0.0.0/8"]\n\n[as_mapping]\ncsv = "{target}"\n')
    return cfg


def _forensics(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "forensics", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.parametrize("kind", ["/dev/zero", "/dev/urandom", "fifo", "folder", "huge", "missing"])
def test_as_mapping_path_must_be_a_regular_file_of_sane_size(tmp_path, kind):
    target = {"fifo": tmp_path / "asn.fifo", "folder": tmp_path / "asn.d", "huge": tmp_path / "asn.csv",
              "missing": tmp_path / "nope.csv"}.get(kind, Path(kind))
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "huge":
        with target.open("wb") as f:  # sparse: no disk used
            f.truncate(MAX_CONFIG_FILE_BYTES + 1)
    cfg = _as_config(tmp_path, str(target))
    args = ("report", "top_talkers", "--format", "table", "--config", str(cfg), "--db", str(tmp_path / "none.duckdb"))
    if kind in ("/dev/zero", "fifo"):  # the real process: exit 2, one line; a FIFO opened would block: timeout
        run = _forensics(*args, timeout=30)
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    else:  # the same command in-process: its UsageError (which the process turns into that exit and line)
        with pytest.raises(UsageError) as err:
            cli(*args)
        lines = [f"forensics: {err.value}"]
        assert "\n" not in str(err.value)
    assert f"{cfg}:5: [as_mapping] csv" in lines[0] and str(target) in lines[0], lines[0]
    reason = {"/dev/zero": "character device", "/dev/urandom": "character device", "fifo": "named pipe",
              "folder": "a folder", "huge": "MiB", "missing": "No such file"}[kind]
    assert reason in lines[0]


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_config_file_itself_must_be_regular(tmp_path, target):
    path = Path(target)
    if target == "fifo":
        path = tmp_path / "forensics.toml"
        os.mkfifo(path)
        with pytest.raises(UsageError, match="named pipe"):  # the one next to the case is checked too
            load_config(None, tmp_path / "case.duckdb")
    run = _forensics("report", "top_talkers", "--format", "table", "--config", str(path),
                     "--db", str(tmp_path / "none.duckdb"), timeout=30)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert f"--config: {path} is a" in run.stderr


def test_cli_reports_a_typo_with_its_line(tmp_path):
    cfg = tmp_path / "forensics.toml"
    cfg.write_text('# my case\n[home]\nnetwork = ["192.0.2.0/24"]\n')
    run = _forensics("report", "top_talkers", "--format", "table", "--config", str(cfg),
                     "--db", str(tmp_path / "none.duckdb"))
    assert run.returncode == 2
    assert run.stderr.strip() == (f"forensics: {cfg}:3: [home] network: unknown key (did you mean 'networks'? "
                                  "known: networks)")


def test_a_fifo_among_report_definitions_is_named_not_opened(tmp_path):
    from forensics.sqlfiles import load_catalog

    os.mkfifo(tmp_path / "stuck.sql")
    catalog = load_catalog([tmp_path])  # would block forever if the FIFO were opened
    assert [str(e) for e in catalog.errors] == [f"{tmp_path / 'stuck.sql'}: not a regular file"]


def test_check_tables_of_any_value_type_go_into_the_json_summary():
    import json

    cfg = config_from_text("[checks.after_hours]\nsince = 2016-09-06T00:00:00Z\nlimits = [1, 2]\n", "t")
    assert json.loads(json.dumps(cfg.summary()))["checks"] == {
        "after_hours": {"since": "2016-09-06 00:00:00+00:00", "limits": [1, 2]}}


def test_a_filter_that_is_neither_a_table_nor_a_string():
    msg = error_of("[filters]\nweb = 443\n")
    assert msg.startswith("case/forensics.toml:2: [filters] web: expected a table [filters.web]"), msg
