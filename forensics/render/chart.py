"""Time-series chart geometry (SVG coordinates), computed here so the page needs no chart library.

One line per item, never stacked: items of a report may overlap (a flow between two top talkers counts for
both; internet_summary's Into Home contains Internet to Home), so a stack would draw sums that are not
traffic. Where a report has a direction (measures in and out) the chart is mirrored: in above the zero line,
out below it (dashed), both on one scale, so a host's peak reads as its larger direction, not in + out.
A section with no traffic gets no chart (the page says so instead).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from forensics.render.units import bin_label, format_value, is_rate, unit_caption, unit_of
from forensics.reports.result import ReportResult, SectionResult

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#17becf", "#86bcb6", "#d37295"]
OTHERS_COLOR = "#8a8f99"
WIDTH, HEIGHT = 900, 300
LEFT, RIGHT, TOP, BOTTOM = 80, 10, 28, 44
# At most one point per horizontal pixel of the plot: a longer window is drawn with each point the PEAK of
# the bins it covers (said in the caption), so a spike is never averaged away and the page stays small.
MAX_POINTS = WIDTH - LEFT - RIGHT
# Markers with a hover title on every non-zero point, unless there are more than this many.
MAX_DOTS = 400


def item_color(index: int, others: bool) -> str:
    """The colour of an item in chart and legend ("Others" is always grey)."""
    return OTHERS_COLOR if others else PALETTE[index % len(PALETTE)]


@dataclass
class Dot:
    """A marker on a non-zero point, with its value in the hover title."""

    cx: float
    cy: float
    title: str


@dataclass
class Line:
    """One item in one direction: a polyline over every point of the window."""

    points: str
    color: str
    label: str
    direction: str  # "in", "out" or the measure's name
    key: int = 0  # the item's position in the section (legend and lines share it)
    dashed: bool = False
    dots: list[Dot] = field(default_factory=list)


@dataclass
class Tick:
    """An axis label at a position."""

    pos: float
    label: str


@dataclass
class Chart:
    """What _timeseries.html draws."""

    measure: str
    title: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    lines: list[Line] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    x_title: str = "time (UTC)"
    mirrored: bool = False
    empty: bool = True
    points_per_bin: int = 1
    plot_left: int = LEFT
    plot_top: int = TOP
    plot_bottom: int = HEIGHT - BOTTOM
    plot_right: int = WIDTH - RIGHT
    zero_y: float = float(HEIGHT - BOTTOM)
    scale: float = 1.0  # measure units per pixel of height (the page exposes it for checks)
    # Greyed spans of the x axis: (x, width, coverage) for points whose bins the case holds no full data for.
    shaded: list[tuple[float, float, str]] = field(default_factory=list)


def chart_measures(result: ReportResult, section: SectionResult) -> list[str]:
    """The measures drawn: [in, out] (mirrored) when the section has both, else its first pair measure."""
    if "in" in section.measures and "out" in section.measures:
        return ["in", "out"]
    for m in result.pair_measures:
        if m in section.measures:
            return [m]
    return section.measures[:1]


def chart_measure(measures: list[str]) -> str:
    """The single measure a section without direction draws (kept for callers of the old API)."""
    return "value" if "value" in measures else measures[0]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8 x 10^k at or above value (round quarter ticks, and at
    most a quarter of the height left empty above the peak)."""
    if value <= 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for step in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):
        top = step * 10 ** exp
        if top >= value * (1 - 1e-12):
            return float(top)
    return float(10 ** (exp + 1))


def time_format(start: dt.datetime, end: dt.datetime, daily: bool) -> tuple[str, str]:
    """(tick label format, axis title) for a window: times within a day, dates across days, years across years
    (`daily`: the ticks fall on whole days, so no time of day is printed)."""
    last = end - dt.timedelta(microseconds=1) if end > start else start
    if start.year != last.year:
        return ("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M"), "date (UTC)"
    if start.date() != last.date():
        return ("%m-%d" if daily else "%m-%d %H:%M"), f"date (UTC, {start.year})"
    return "%H:%M", f"time (UTC, {start:%Y-%m-%d})"


EPOCH = dt.datetime(1970, 1, 1)
MONDAY = dt.datetime(1970, 1, 5)
# Tick spacings tried in order (seconds), then in months: the first that gives at most MAX_TICKS labels wins,
# and ticks sit on clock and calendar boundaries (12:00, Mondays, the 1st of a month, 1 January).
TICK_SECONDS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400,
                14 * 86400)
TICK_MONTHS = (1, 2, 3, 6, 12, 24, 60, 120, 600)
MAX_TICKS = 7


def time_ticks(start: dt.datetime, end: dt.datetime) -> tuple[list[dt.datetime], bool]:
    """Tick times inside [start, end) on round boundaries, and whether they are whole days."""
    span = (end - start).total_seconds()
    for step in TICK_SECONDS:
        if span / step <= MAX_TICKS:
            origin = MONDAY if step % (7 * 86400) == 0 else EPOCH
            first = origin + dt.timedelta(seconds=math.ceil((start - origin).total_seconds() / step) * step)
            ticks = []
            t = first
            while t < end:
                ticks.append(t)
                t += dt.timedelta(seconds=step)
            return ticks, step % 86400 == 0
    for months in TICK_MONTHS:
        if span / (months * 30.44 * 86400) <= MAX_TICKS:
            index = start.year * 12 + start.month - 1
            if (start.day, start.hour, start.minute, start.second, start.microsecond) != (1, 0, 0, 0, 0):
                index += 1
            index = math.ceil(index / months) * months
            ticks = []
            while True:
                t = dt.datetime(index // 12, index % 12 + 1, 1)
                if t >= end:
                    return ticks, True
                ticks.append(t)
                index += months
    return [start], True


def _buckets(n: int) -> tuple[int, int]:
    """(bins per point, number of points) for n bins."""
    per = max(1, math.ceil(n / MAX_POINTS))
    return per, math.ceil(n / per) if n else 0


def build_chart(result: ReportResult, section: SectionResult) -> Chart:
    """Lines per item over the window's bins; mirrored in/out where the section has a direction."""
    measures = chart_measures(result, section)
    unit = unit_of(result, measures[0])
    chart = Chart("/".join(measures), mirrored=len(measures) == 2)
    chart.legend = [(item_color(i, item.others), item.label) for i, item in enumerate(section.items)]
    bins = result.bins()
    per, npoints = _buckets(len(bins))
    chart.points_per_bin = per
    idx = [section.measures.index(m) for m in measures]
    # values[item][k][p]: the peak of measure k over the bins of point p
    values = [[[0.0] * npoints for _ in measures] for _ in section.items]
    for b, t in enumerate(bins):
        row = section.series.get(t)
        if not row:
            continue
        for i, vals in row.items():
            if i >= len(section.items):
                continue
            for k, j in enumerate(idx):
                v = vals[j] if j < len(vals) and vals[j] is not None else 0.0
                if v > values[i][k][b // per]:
                    values[i][k][b // per] = v
    peak = max((v for item in values for series in item for v in series), default=0.0)
    chart.empty = not section.items or peak <= 0
    how = "average per second over" if is_rate(unit) else "total in"
    names = " \u2191 / ".join(measures) + " \u2193" if chart.mirrored else measures[0]
    chart.title = (f"{names} ({unit_caption(unit)}), {how} each {bin_label(result.bin_secs)} bin"
                   + (f"; each point is the peak of {per} bins" if per > 1 else ""))
    if chart.empty or not npoints:
        return chart
    top = nice_ceiling(peak)
    plot_h = chart.plot_bottom - chart.plot_top
    half = plot_h / 2 if chart.mirrored else plot_h
    chart.zero_y = round(chart.plot_top + half, 2)
    chart.scale = top / half
    plot_w = chart.plot_right - chart.plot_left
    step = plot_w / npoints
    many_dots = sum(1 for item in values for series in item for v in series if v > 0) > MAX_DOTS
    drawn_secs = npoints * per * result.bin_secs  # the x axis spans whole points (the last may be partial)
    ticks, daily = time_ticks(result.start, result.end)
    fmt, chart.x_title = time_format(result.start, result.end, daily)
    for i, item in enumerate(section.items):
        color = item_color(i, item.others)
        for k, m in enumerate(measures):
            series = values[i][k]
            if not any(v > 0 for v in series):
                continue
            sign = 1 if k == 0 else -1  # out (the second measure) is drawn below the zero line
            line = Line("", color, f"{item.label} {m}" if chart.mirrored else item.label, m, i, dashed=k == 1)
            pts = []
            for p, v in enumerate(series):
                x = round(chart.plot_left + (p + 0.5) * step, 2)
                y = round(chart.zero_y - sign * v / top * half, 2)
                pts.append(f"{x},{y}")
                if v > 0 and not many_dots:
                    t = bins[p * per]
                    line.dots.append(Dot(x, y, f"{t:%Y-%m-%d %H:%M} {line.label}: {format_value(v, unit)}"))
            line.points = " ".join(pts)
            chart.lines.append(line)
    for p in range(npoints):
        levels = {result.coverage.get(t, "packets") if result.has_value(t) else "none"
                  for t in bins[p * per:(p + 1) * per]} if result.coverage else set()
        worst = next((lv for lv in ("none", "partial", "summary", "sampled") if lv in levels), None)
        if worst:
            chart.shaded.append((round(chart.plot_left + p * step, 2), round(step, 2), worst))
    for q in range(5):
        frac = q / 4
        chart.y_ticks.append(Tick(round(chart.zero_y - half * frac, 2), format_value(top * frac, unit)))
        if chart.mirrored and q:
            chart.y_ticks.append(Tick(round(chart.zero_y + half * frac, 2), format_value(top * frac, unit)))
    for t in ticks:
        x = chart.plot_left + (t - result.start).total_seconds() / drawn_secs * plot_w
        chart.x_ticks.append(Tick(round(x, 2), t.strftime(fmt)))
    return chart
