"""Terminal table and CSV renderings of a report result."""

from __future__ import annotations

import csv
import io

from forensics.render.jsonout import iso_z
from forensics.render.units import bin_label, human_rate
from forensics.reports.result import ReportResult


def render_table(result: ReportResult) -> str:
    """Aligned plain-text tables, one per section, with a header naming the window and unit."""
    out = [f"{result.title} ({result.name})",
           f"{iso_z(result.start)} .. {iso_z(result.end)}  bin {bin_label(result.bin_secs)}  "
           f"unit {result.unit}  {result.ip_version_text}  scope {result.scope}"
           + (f"  filter {result.filter_expr!r}" if result.filter_expr else "")]
    for section in result.sections:
        out.append("")
        if len(result.sections) > 1:
            out.append(f"[{section.name}]")
        header = ["#", *section.dimensions, *section.measures]
        rows = []
        for item in section.items:
            names = ["Others"] + [""] * (len(item.names) - 1) if item.others else [n or "-" for n in item.names]
            rows.append([str(item.rank), *names, *(human_rate(v, result.unit) for v in item.values)])
        if not rows:
            out.append("(no traffic in the window)")
            continue
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        numeric = {0} | set(range(1 + len(section.dimensions), len(header)))
        for r in [header, *rows]:
            out.append("  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(r, widths, strict=False))).rstrip())
    return "\n".join(out) + "\n"


def render_csv(result: ReportResult) -> str:
    """Long-form CSV: one row per item for the window (bin empty) and per item and bin."""
    dims: list[str] = []
    for section in result.sections:
        dims += [d for d in section.dimensions if d not in dims]
    measures = result.sections[0].measures if result.sections else []
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["section", "rank", "others", *dims, "bin", *measures])
    for section in result.sections:
        for pos, item in enumerate(section.items):
            named = dict(zip(section.dimensions, item.names, strict=False))
            lead = [section.name, item.rank, "true" if item.others else "false",
                    *(named.get(d) or "" for d in dims)]
            writer.writerow([*lead, "", *("" if v is None else repr(v) for v in item.values)])
            for t, row in section.series.items():
                if pos in row:
                    writer.writerow([*lead, iso_z(t), *("" if v is None else repr(v) for v in row[pos])])
    return buf.getvalue()
