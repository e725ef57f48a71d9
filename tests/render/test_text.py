"""Table and CSV renderings carry the same numbers as the result."""

from __future__ import annotations

import csv
import dataclasses
import io

from forensics.render import render
from forensics.render.jsonout import iso_z
from forensics.render.units import human_count, human_rate


def test_csv_round_trips_every_value(results):
    result = results["wannacry"]
    rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
    want = []
    for section in result.sections:
        for pos, item in enumerate(section.items):
            want.append((section.name, str(item.rank), "", item.values))
            for t, row in section.series.items():
                if pos in row:
                    want.append((section.name, str(item.rank), iso_z(t), row[pos]))
    heads = [f"{m} [{result.measure_units[m]}]" for m in result.sections[0].measures]
    got = [(r["section"], r["rank"], r["bin"], [float(r[h]) for h in heads]) for r in rows]
    assert got == want


def test_table_lists_each_item_with_human_rates(results):
    result = results["top_talkers"]
    text = render(result, "table")
    lines = text.splitlines()
    assert lines[0] == "Top talkers (top_talkers)"
    for item in result.sections[0].items:
        label = "Others" if item.others else item.names[0]
        line = next(ln for ln in lines if ln.split()[:2] == [str(item.rank), label])
        assert human_rate(item.values[2], "bps").split()[0] in line


def test_table_and_csv_headers_name_unit_and_layer(results):
    result = dataclasses.replace(results["top_talkers"], measure_units={
        "in": "bps (IP layer)", "out": "bps (IP layer)", "total": "bps (IP layer)"})
    table = render(result, "table").splitlines()
    header = next(ln for ln in table if ln.split()[:2] == ["#", "ip"])
    for m in ("in", "out", "total"):
        assert f"{m} (bps, IP layer)" in header
    assert "averages per second" in "\n".join(table) and "flow start" in "\n".join(table)
    first = render(result, "csv").splitlines()[0]
    assert "in [bps (IP layer)],out [bps (IP layer)],total [bps (IP layer)]" in first
    assert first.count(",") == len(next(csv.reader([first]))) - 1  # no comma inside a header


def test_counts_are_exact_and_rates_per_second(results, case, config):
    """Measures without a rate unit (totals, distinct counts) print exactly; a --unit pps report names pps."""
    from render_values import WINDOW

    from forensics.reports import run_report

    result = run_report(case, "protocol_mix", {**WINDOW, "unit": "pps"}, config=config)
    text = render(result, "table")
    assert "in (pps)" in text and "unit pps" in text
    counted = dataclasses.replace(result, measure_units={"in": "packets", "out": "packets", "total": "packets"})
    lines = render(counted, "table").splitlines()
    item = counted.sections[0].items[0]
    row = next(ln for ln in lines if ln.split()[:1] == [str(item.rank)])
    assert human_count(item.values[0]) in row and "pps" not in row


def test_total_and_count_measures_are_headed_by_their_layer_only(results):
    """The shape report-semantics adds (bytes/packets/flows/peers beside the rates): no 'packets (packets)'."""
    base = results["protocol_mix"]
    section = dataclasses.replace(base.sections[0], measures=["in", "bytes", "packets"])
    result = dataclasses.replace(base, sections=[section], measure_units={
        "in": "bps (IP layer)", "bytes": "bytes (IP layer)", "packets": "packets"})
    header = next(ln for ln in render(result, "table").splitlines() if ln.split()[:2] == ["#", "proto"])
    cells = [h.strip() for h in header.split("  ") if h.strip()]
    assert cells[-3:] == ["in (bps, IP layer)", "bytes (IP layer)", "packets"]
    first = render(result, "csv").splitlines()[0]
    assert first.endswith("in [bps (IP layer)],bytes [bytes (IP layer)],packets [packets],coverage")
