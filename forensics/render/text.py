"""Terminal table and CSV renderings of a report result. Every measure column names its unit and layer."""

from __future__ import annotations

import csv
import io

from forensics.render.jsonout import iso_z
from forensics.render.units import bin_label, format_value, is_rate, measure_header, unit_of
from forensics.reports.result import ReportResult

BINNING_TEXT = {
    "packet-time": "binned by packet time",
    "flow-start": "binned by flow start (a flow's whole volume in the bin where it started)",
}


def window_line(result: ReportResult) -> str:
    """'2016-09-06T12:00:00Z .. 2016-09-06T14:00:00Z  bin 5 min  unit bps  IPv4+IPv6  scope any'."""
    return (f"{iso_z(result.start)} .. {iso_z(result.end)}  bin {bin_label(result.bin_secs)}  "
            f"unit {result.unit}  {result.ip_version_text}  scope {result.scope}"
            + (f"  filter {result.filter_expr!r}" if result.filter_expr else ""))


def window_meaning(result: ReportResult) -> str:
    """What a row's figures are, and how flows were binned."""
    what = ("rates are averages per second over the window (per bin in csv/json/html)" if is_rate(result.unit)
            else f"{result.unit} are totals over the window (per bin in csv/json/html)")
    return f"{what}; {BINNING_TEXT.get(result.binning, 'binning ' + result.binning)}"


def coverage_line(result: ReportResult) -> str:
    """'coverage: 12 bins: 10 packets, 1 partial, 1 none (no data)' -- what the figures rest on."""
    counts: dict[str, int] = {}
    for t in result.bins():
        level = result.coverage.get(t, "none")
        counts[level] = counts.get(level, 0) + 1
    parts = [f"{n} {level}" + (" (no data held)" if level == "none" else "") for level, n in counts.items()]
    line = f"coverage: {sum(counts.values())} bins: {', '.join(parts)} (per bin: --format csv or json)"
    if result.basis != "auto":
        empty = sum(1 for t in result.bins() if not result.has_value(t))
        line += f"; --basis {result.basis}" + (f": {empty} bin(s) without data of that basis (no value)"
                                                if empty else "")
    return line


def render_table(result: ReportResult) -> str:
    """Aligned plain-text tables, one per section, under a header naming the window, bin, units and notes."""
    out = [f"{result.title} ({result.name})", window_line(result),
           window_meaning(result)]
    out += [f"note: {n}" for n in result.notes]
    if result.coverage:
        out.append(coverage_line(result))
    for section in result.sections:
        out.append("")
        if len(result.sections) > 1:
            out.append(f"[{section.name}]")
        header = ["#", *section.dimensions, *(measure_header(result, m) for m in section.measures)]
        units = [unit_of(result, m) for m in section.measures]
        rows = []
        for item in section.items:
            names = ["Others"] + [""] * (len(item.names) - 1) if item.others else [n or "-" for n in item.names]
            rows.append([str(item.rank), *names,
                         *(format_value(v, u) for v, u in zip(item.values, units, strict=False))])
        if not rows:
            out.append("(no traffic in the window)")
            continue
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        numeric = {0} | set(range(1 + len(section.dimensions), len(header)))
        for r in [header, *rows]:
            out.append("  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(r, widths, strict=False))).rstrip())
        out.append(f"({len(section.items)} item{'s' if len(section.items) != 1 else ''})")
    return "\n".join(out) + "\n"


def csv_header(result: ReportResult, measure: str) -> str:
    """'in [bps (IP layer)]': the measure and its unit, no comma (so `cut -d,` still splits columns)."""
    return f"{measure} [{unit_of(result, measure)}]"


def render_csv(result: ReportResult) -> str:
    """Long-form CSV: one row per item for the window (bin empty) and per item and bin."""
    dims: list[str] = []
    measures: list[str] = []
    for section in result.sections:
        dims += [d for d in section.dimensions if d not in dims]
        measures += [m for m in section.measures if m not in measures]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    tail = ["coverage"] if result.coverage else []
    if result.coverage and result.basis != "auto":  # --basis packets|flows: per bin what the figure rests on
        tail.append("basis")
    writer.writerow(["section", "rank", "others", *dims, "bin", *(csv_header(result, m) for m in measures), *tail])

    def cells(values: list[float | None], section_measures: list[str]) -> list[str]:
        by_name = dict(zip(section_measures, values, strict=False))
        return ["" if by_name.get(m) is None else repr(by_name[m]) for m in measures]

    for section in result.sections:
        for pos, item in enumerate(section.items):
            named = dict(zip(section.dimensions, item.names, strict=False))
            lead = [section.name, item.rank, "true" if item.others else "false",
                    *(named.get(d) or "" for d in dims)]
            writer.writerow([*lead, "", *cells(item.values, section.measures), *([""] * len(tail))])
            for t, row in section.series.items():
                if pos in row:
                    mark = [result.coverage.get(t, "none")] if tail else []
                    if len(tail) > 1:
                        mark.append(result.bin_basis.get(t) or "none")
                    writer.writerow([*lead, iso_z(t), *cells(row[pos], section.measures), *mark])
    return buf.getvalue()
