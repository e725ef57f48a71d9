"""The same captures imported as a lake and as a single file give the same answers to shipped reports, checks and
filters, row for row (the lake's views stand where the single file's tables are: nothing above the store knows)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from forensics.checks import runner as check_runner
from forensics.checks.runner import run_checks
from forensics.filters import compile_filter
from forensics.ingest import ImportOptions, import_paths
from forensics.reports import run_report, scopes
from forensics.reports import runner as report_runner
from forensics.store import Case, lake_stats
from tests.conftest import CORPUS
from tests.inprocess import cli

# A SYN scan, raw IP packets, HTTP, a DHCP flood, SMTP and a NetFlow v5 export file.
FILES = ["nDPI/synscan.pcap", "nDPI/ocs.pcap", "scapy/http_chunk.pcap.gz", "zeek/dhcp__dhcp_flood.pcap",
         "zeek/smtp.pcap", "logstash-netflow/netflow5_test_juniper_mx80.dat"]
REPORTS = ["top_talkers", "protocol_mix", "top_ports", "attributes", "http_hosts", "dns_names", "mac_addresses",
           "smtp_senders", "dhcp_leases", "wannacry"]
FILTERS = ["tcp[tcpflags] & tcp-syn != 0 and not tcp[tcpflags] & tcp-ack != 0", "udp port 53 or port 67",
           "tcp dst port 80", "net 10.0.0.0/8 and not icmp", "not tcp", "vlan or udp"]
VOLATILE = {"generated_at", "created_at", "elapsed_s", "seconds"}  # when and how long, not what


def _build(path: Path, layout: str) -> Path:
    old = os.environ.get("FORENSICS_LAYOUT")
    os.environ["FORENSICS_LAYOUT"] = layout
    try:
        with Case.open(path) as case:
            summary = import_paths(case, [str(CORPUS / "files" / f) for f in FILES], ImportOptions())
            assert {f.status for f in summary.files} == {"imported"}, [f.message for f in summary.files]
    finally:
        if old is None:
            os.environ.pop("FORENSICS_LAYOUT")
        else:
            os.environ["FORENSICS_LAYOUT"] = old
    return path


@pytest.fixture(scope="module")
def cases(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("answers")
    lake_path, single_path = _build(folder / "lake.duckdb", "lake"), _build(folder / "single.duckdb", "file")
    assert lake_path.is_dir() and single_path.is_file()
    return lake_path, single_path


def _plain(value: object) -> object:
    """A result as plain data without the fields that name when or where it ran."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def test_reports_answer_alike(cases):
    lake_path, single_path = cases
    with Case.open(lake_path, read_only=True) as lake_case, Case.open(single_path, read_only=True) as single:
        rows = 0
        for name in REPORTS:
            got, want = run_report(lake_case, name), run_report(single, name)
            assert _plain(got.sections) == _plain(want.sections), name
            assert (got.start, got.end, got.bin_secs) == (want.start, want.end, want.bin_secs), name
            rows += sum(len(s.items) for s in want.sections)
        filtered = run_report(lake_case, "top_talkers", filter_expr="tcp"), run_report(single, "top_talkers",
                                                                                        filter_expr="tcp")
        assert _plain(filtered[0].sections) == _plain(filtered[1].sections)
    assert rows > 50  # the reports found something to compare


@pytest.mark.parametrize(("name", "params", "expr"), [
    ("top_talkers", {"scope": "home"}, None), ("protocol_mix", {"scope": "after_hours"}, None),
    ("top_ports", {}, "tcp and dst portrange 0-1023"), ("wannacry", {}, "not udp port 53")])
def test_scoped_and_filtered_reports_answer_alike(cases, monkeypatch, name, params, expr):
    """A scope or --filter on a lake reads the flows through a TEMP view over the parts, one branch each
    (lake_stats.part_views), or, where the parts are many and small, a TEMP copy: the single file's answers both
    ways."""
    lake_path, single_path = cases
    with Case.open(lake_path, read_only=True) as lake_case, Case.open(single_path, read_only=True) as single:
        want = _plain(run_report(single, name, dict(params), filter_expr=expr).sections)
        assert want and any(s["items"] for s in want)
        restricted = []
        real = scopes.restrict_flows

        def spy(con, fragments):
            done = real(con, fragments)
            restricted.append(con.execute("SELECT table_type FROM information_schema.tables "
                                          "WHERE table_catalog = 'temp' AND table_name = 'flows'").fetchall())
            return done

        monkeypatch.setattr(report_runner, "restrict_flows", spy)
        assert _plain(run_report(lake_case, name, dict(params), filter_expr=expr).sections) == want
        monkeypatch.setattr(scopes, "part_views", lambda con, tables: {})
        assert _plain(run_report(lake_case, name, dict(params), filter_expr=expr).sections) == want
        assert restricted == [[("VIEW",)], [("LOCAL TEMPORARY",)]]


def test_checks_raise_the_same_alerts(cases):
    runs = []
    for path in cases:
        with Case.open(path) as case:
            runs.append(run_checks(case))
    got, want = runs
    assert not got.errors and not want.errors, (got.errors, want.errors)
    alerts = []
    for run in runs:
        rows = [{k: v for k, v in _plain(a).items() if k != "id"} for a in run.alerts]
        alerts.append(sorted(rows, key=lambda d: repr(sorted(d.items()))))
    assert alerts[0] == alerts[1]
    assert len(want.alerts) > 0  # the SYN scan at least raises alerts
    assert [(c.name, c.alerts) for c in got.checks] == [(c.name, c.alerts) for c in want.checks]


def _temp_shadows(con: object) -> list[tuple]:
    return con.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND view_name IN ('flows', 'packets') "
                       "UNION ALL SELECT table_name FROM duckdb_tables() WHERE temporary "
                       "AND table_name IN ('flows', 'packets')").fetchall()


def test_checks_read_the_lake_part_by_part_and_leave_no_views(cases, monkeypatch):
    """`forensics check` on a lake reads flows and packets through pin_parts' TEMP views (and the case's span from
    the footers), writes its alerts to the catalog as before, and drops the views after: the single file's
    alerts, and the same alerts again with the views left out."""
    lake_path, single_path = cases
    with Case.open(lake_path) as case:
        con = case.con
        span = lake_stats.time_range(con)
        assert span is not None and span == con.execute(
            "SELECT least((SELECT min(ts) FROM packets), (SELECT min(first_ts) FROM flows)), "
            "greatest((SELECT max(ts) FROM packets), (SELECT max(first_ts) FROM flows))").fetchone()
        pinned, seen = [], []
        real_pin, real_one = lake_stats.pin_parts, check_runner._run_one

        def pin_spy(c, tables=("flows", "packets")):
            names = real_pin(c, tables)
            pinned.append(names)
            return names

        def one_spy(c, definition, bound):
            seen.append(_temp_shadows(c))
            return real_one(c, definition, bound)

        monkeypatch.setattr(lake_stats, "pin_parts", pin_spy)
        monkeypatch.setattr(check_runner, "_run_one", one_spy)
        got = run_checks(case)
        assert pinned == [["flows", "packets"]]
        assert seen and all(sorted(s) == [("flows",), ("packets",)] for s in seen)
        assert _temp_shadows(con) == []
        monkeypatch.setattr(lake_stats, "pin_parts", lambda c, tables=(): [])
        monkeypatch.setattr(check_runner, "time_range", lambda c: None)
        unpinned = run_checks(case)
    with Case.open(single_path) as case:
        want = run_checks(case)
    alerts = []
    for run in (got, unpinned, want):
        assert not run.errors, run.errors
        rows = [{k: v for k, v in _plain(a).items() if k != "id"} for a in run.alerts]
        alerts.append(sorted(rows, key=lambda d: repr(sorted(d.items()))))
    assert alerts[0] == alerts[1] == alerts[2] and alerts[2]
    assert (got.range_start, got.range_end) == (unpinned.range_start, unpinned.range_end) == (want.range_start,
                                                                                            want.range_end)


@pytest.mark.parametrize("args", [["--sort", "bytes", "-c", "7"], ["--filter", "tcp or udp port 53"],
                                  ["--sort", "packets", "--csv"], ["--from", "2000-01-01T00:00:00Z", "--json"]])
def test_flows_listing_alike_on_the_parts(cases, monkeypatch, args):
    """`forensics flows` on a lake reads the flows part by part (the listing's cursor and the summary's
    connection): the lines and the summary of the single file, and of the lake without the views."""
    lake_path, single_path = cases
    pinned = []
    real_pin = lake_stats.pin_parts

    def pin_spy(c, tables=("flows", "packets")):
        names = real_pin(c, tables)
        pinned.append(names)
        return names

    monkeypatch.setattr(lake_stats, "pin_parts", pin_spy)
    outputs = []
    for path in (lake_path, single_path):
        run = cli("flows", "--db", str(path), *args)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert pinned == [["flows"], ["flows"], [], []]  # lake: cursor and connection; the single file: none
    monkeypatch.setattr(lake_stats, "pin_parts", lambda c, tables=(): [])
    outputs.append(cli("flows", "--db", str(lake_path), *args).stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[1].count("\n") > 5


@pytest.mark.parametrize("expr", FILTERS)
def test_filters_select_the_same_packets_and_flows(cases, expr):
    counts = []
    lake_path, single_path = cases
    with Case.open(lake_path, read_only=True) as lake_case, Case.open(single_path, read_only=True) as single:
        for table, key in (("packets", "capture_id, frame"), ("flows", "flow_id")):
            where, params = compile_filter(expr, table)
            query = f"SELECT * FROM {table} WHERE {where} ORDER BY {key}"
            got = lake_case.con.execute(query, params).fetchall()
            want = single.con.execute(query, params).fetchall()
            assert got == want, (expr, table)
            counts.append(len(want))
    assert sum(counts) > 0, expr
