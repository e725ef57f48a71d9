"""The carve command each report row shows: it names the report, the row and the window the page was made
with, survives the shell (shlex round trip), and rows that packets cannot be matched to say why."""

from __future__ import annotations

import shlex

from render_values import WINDOW

from forensics.render.commands import carve_command
from forensics.render.jsonout import iso_z
from forensics.reports import run_report
from forensics.reports.items import item_filter


def option(args, name):
    return args[args.index(name) + 1]


def test_every_talker_row_has_its_command_and_others_has_none(results):
    result = results["top_talkers"]
    section = result.sections[0]
    for item in section.items:
        cmd, why = carve_command(result, section, item)
        if item.others:
            assert cmd is None and "Others" in why
            continue
        args = shlex.split(cmd)
        assert args[:6] == ["forensics", "carve", "--report", "top_talkers", "--item", str(item.rank)]
        assert (option(args, "--from"), option(args, "--to")) == (iso_z(result.start), iso_z(result.end))
        assert f"top={result.params['top']}" in args and args[-2:] == ["-w", f"item-{item.rank}.pcap"]
        assert "--section" not in args and "--scope" not in args
        assert item_filter(result, item.rank) == f"host {item.names[0]}"


def test_command_carries_scope_filter_ip_version_and_unit(case, config):
    expr = "tcp and not port 22 or udp"
    result = run_report(case, "top_ports", {**WINDOW, "scope": "home", "ip_version": "4", "unit": "pps"},
                        config=config, filter_expr=expr)
    section = result.sections[0]
    item = next(it for it in section.items if not it.others)
    args = shlex.split(carve_command(result, section, item)[0])
    assert (option(args, "--scope"), option(args, "--ip-version"), option(args, "--filter")) == ("home", "4", expr)
    assert "unit=pps" in args


def test_rows_keyed_by_what_packets_do_not_carry_say_why(results):
    summary = results["internet_summary"]
    for item in summary.sections[0].items:
        cmd, why = carve_command(summary, summary.sections[0], item)
        assert cmd is None and "category" in why
    wannacry = results["wannacry"]
    first, second = wannacry.sections[0], wannacry.sections[1]
    plain = [it for it in first.items if not it.others]
    assert plain and all(carve_command(wannacry, first, it)[0] for it in plain)
    for item in (it for it in second.items if not it.others):
        cmd, why = carve_command(wannacry, second, item)
        assert cmd is None and "out_if" in why
