"""Stacked time-series chart geometry (SVG coordinates), computed here so the page needs no chart library."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from forensics.render.units import human_rate
from forensics.reports.result import ReportResult, SectionResult

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#17becf", "#86bcb6", "#d37295"]
OTHERS_COLOR = "#b8bcc6"


def item_color(index: int, others: bool) -> str:
    """The colour of an item in chart and legend ("Others" is always grey)."""
    return OTHERS_COLOR if others else PALETTE[index % len(PALETTE)]
WIDTH, HEIGHT = 900, 280
LEFT, RIGHT, TOP, BOTTOM = 80, 10, 10, 40


@dataclass
class Bar:
    """One stacked segment: an item's value in one bin."""

    x: float
    y: float
    w: float
    h: float
    color: str
    title: str


@dataclass
class Tick:
    """An axis label at a position."""

    pos: float
    label: str


@dataclass
class Chart:
    """What _timeseries.html draws."""

    measure: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    plot_left: int = LEFT
    plot_bottom: int = HEIGHT - BOTTOM
    plot_right: int = WIDTH - RIGHT


def chart_measure(measures: list[str]) -> str:
    """The measure the chart stacks: total when there is one, else the first."""
    return "total" if "total" in measures else measures[0]


def build_chart(result: ReportResult, section: SectionResult) -> Chart:
    """Stacked bars: one column per bin of the window, one segment per item (in table order)."""
    measure = chart_measure(section.measures)
    m = section.measures.index(measure)
    bins = result.bins()
    chart = Chart(measure)
    chart.legend = [(item_color(i, item.others), item.label) for i, item in enumerate(section.items)]
    if not bins:
        return chart
    stacks = [sum(max(v[m] or 0.0, 0.0) for v in section.series.get(t, {}).values()) for t in bins]
    top = max(stacks) if stacks and max(stacks) > 0 else 1.0
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    step = plot_w / len(bins)
    bar_w = max(step * 0.9, 0.5)
    for b, t in enumerate(bins):
        row = section.series.get(t, {})
        y = float(HEIGHT - BOTTOM)
        for i, item in enumerate(section.items):
            value = max((row.get(i) or [0.0] * len(section.measures))[m] or 0.0, 0.0)
            if value <= 0:
                continue
            h = value / top * plot_h
            y -= h
            chart.bars.append(Bar(round(LEFT + b * step, 2), round(y, 2), round(bar_w, 2), round(h, 2),
                                  item_color(i, item.others),
                                  f"{t:%Y-%m-%d %H:%M} {item.label}: {human_rate(value, result.unit)}"))
    for k in range(5):
        value = top * k / 4
        chart.y_ticks.append(Tick(round(HEIGHT - BOTTOM - plot_h * k / 4, 2), human_rate(value, result.unit)))
    every = max(1, len(bins) // 6)
    fmt = "%H:%M" if result.end - result.start <= dt.timedelta(days=1) else "%m-%d %H:%M"
    for b in range(0, len(bins), every):
        chart.x_ticks.append(Tick(round(LEFT + b * step, 2), bins[b].strftime(fmt)))
    return chart
