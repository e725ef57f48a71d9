"""Numbers and units for people: rates with SI prefixes, exact counts, bin sizes as GenieATM writes them.

Every figure a renderer prints names its unit and, where the report says so, its layer: the unit of a measure
comes from `ReportResult.measure_units` ("bps (IP layer)"), else the report unit for the rate measures
(in, out, total, value), else the measure's own name (bytes, packets, flows, ports, peers ...).
"""

from __future__ import annotations

from forensics.reports.result import ReportResult

# Measures that carry the report unit (--unit) when the result names no unit for them.
RATE_MEASURES = ("in", "out", "total", "value")
# Units that are rates (printed with SI prefixes); anything else is a total or a count (printed exactly).
RATE_UNITS = ("bps", "pps", "fps")


def human_rate(value: float | None, unit: str) -> str:
    """1234567.0, 'bps' -> '1.23 Mbps'; None -> '-'."""
    if value is None:
        return "-"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.2f} {unit}"


def human_count(value: float | None) -> str:
    """498330.0 -> '498,330'; 2.5 -> '2.50'; None -> '-' (totals are exact, never rounded to k/M)."""
    if value is None:
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def unit_of(result: ReportResult, measure: str) -> str:
    """The unit of a measure, with its layer when the result names one: 'bps (IP layer)', 'packets'."""
    named = result.measure_units.get(measure)
    if named:
        return named
    return result.unit if measure in RATE_MEASURES else measure


def base_unit(unit: str) -> str:
    """'bps (IP layer)' -> 'bps'."""
    return unit.split("(", 1)[0].strip() or unit


def unit_caption(unit: str) -> str:
    """'bps (IP layer)' -> 'bps, IP layer' (for a header in parentheses)."""
    base = base_unit(unit)
    rest = unit[len(unit.split("(", 1)[0]):].strip()
    return f"{base}, {rest.strip('()').strip()}" if rest else base


def is_rate(unit: str) -> bool:
    """True for a per-second unit (bps, pps), false for totals and counts."""
    return base_unit(unit) in RATE_UNITS


def format_value(value: float | None, unit: str) -> str:
    """A value as people read it in its unit: '1.23 Mbps' for a rate, '498,330' for a total or count."""
    return human_rate(value, base_unit(unit)) if is_rate(unit) else human_count(value)


def measure_header(result: ReportResult, measure: str) -> str:
    """A column header naming the unit and layer: 'in (bps, IP layer)', 'bytes (IP layer)', 'packets'."""
    unit = unit_of(result, measure)
    if base_unit(unit) == measure:
        layer = unit_caption(unit)[len(measure):].lstrip(", ")
        return f"{measure} ({layer})" if layer else measure
    return f"{measure} ({unit_caption(unit)})"


def bin_label(secs: int) -> str:
    """A bin size as GenieATM's `aggregation_unit` writes it: 300 -> '5 min', 7200 -> '2 hour', 86400 -> '1 day',
    45 -> '45 sec'."""
    if secs % 86400 == 0:
        return f"{secs // 86400} day"
    if secs % 3600 == 0:
        return f"{secs // 3600} hour"
    if secs % 60 == 0:
        return f"{secs // 60} min"
    return f"{secs} sec"
