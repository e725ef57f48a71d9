"""Table and CSV renderings carry the same numbers as the result."""

from __future__ import annotations

import csv
import io

from forensics.render import render
from forensics.render.jsonout import iso_z
from forensics.render.units import human_rate


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
    got = [(r["section"], r["rank"], r["bin"], [float(r[f"{m} [bps]"]) for m in result.sections[0].measures])
           for r in rows]
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
