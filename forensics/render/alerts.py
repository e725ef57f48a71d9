"""Alerts -> JSON envelope, text table, HTML page (report_templates/alerts.html). Never touches the database.

    render_alerts_json(alerts, run)    # {"response": {"status": "succ", "result": {"data": {"alerts": [...]}}}}
    render_alerts_html(alerts, run)    # timeline, each alert's series against its threshold or band, evidence
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from forensics import __version__
from forensics.checks.result import Alert, CheckRun, iso_z
from forensics.sqlfiles import parse_timestamp

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def alerts_envelope(alerts: list[Alert], run: CheckRun | None = None, output_file: str | None = None) -> dict:
    """The report-style success envelope around alerts (and the run's checks, when given)."""
    starts = [a.window_start for a in alerts]
    ends = [a.window_end for a in alerts]
    data = {
        "report": "alerts",
        "title": "Alerts",
        "datetime_start": iso_z(run.range_start if run else (min(starts) if starts else None)),
        "datetime_end": iso_z(run.range_end if run else (max(ends) if ends else None)),
        "count": len(alerts),
        "alerts": [a.to_dict() for a in alerts],
        "generated_at": iso_z(_now()),
        "forensics_version": __version__,
    }
    if run is not None:
        data["checks"] = [{"name": s.name, "title": s.title, "severity": s.severity, "category": s.category,
                           "alerts": s.alerts, "seconds": s.seconds, "params": s.params, "definition": s.path}
                          for s in run.checks]
        data["config"] = run.config_source
    return {"response": {"status": "succ", "result": {"output_file": output_file, "data": data}}}


def render_alerts_json(alerts: list[Alert], run: CheckRun | None = None, output_file: str | None = None) -> str:
    """The envelope as indented JSON text."""
    return json.dumps(alerts_envelope(alerts, run, output_file), indent=2, ensure_ascii=False, default=str) + "\n"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def render_alerts_table(alerts: list[Alert]) -> str:
    """One line per alert: id, check, severity, entity, window, value/threshold unit, then the detail."""
    if not alerts:
        return "no alerts\n"
    lines = [f"{'id':>5}  {'check':<18} {'sev':<6} {'entity':<26} {'window (UTC)':<41} value / threshold"]
    for a in alerts:
        window = f"{iso_z(a.window_start.replace(microsecond=0))} {iso_z(a.window_end.replace(microsecond=0))}"
        lines.append(f"{a.id:>5}  {a.check:<18} {a.severity:<6} {a.entity:<26} {window:<41} "
                     f"{_num(a.value)} / {_num(a.threshold)} {a.unit}")
        lines.append(f"{'':>7}{a.detail}")
    return "\n".join(lines) + "\n"


# --- HTML -------------------------------------------------------------------------------------------------

@dataclass
class Spark:
    """One alert's series as SVG geometry: the polyline, the threshold or band, the window shaded."""

    width: int
    height: int
    points: str
    limit_y: float | None
    band: tuple[float, float] | None
    window: tuple[float, float]
    vmax: float


@dataclass
class TimelineBar:
    """An alert on the timeline: x, width and the row of its check."""

    alert: Alert
    x: float
    w: float
    row: int


@dataclass
class AlertsPage:
    """The context of alerts.html."""

    page_title: str
    alerts: list[Alert]
    sparks: dict[int, Spark | None]
    bars: list[TimelineBar]
    rows: list[str]
    start: dt.datetime | None
    end: dt.datetime | None
    run: CheckRun | None = None
    index_href: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    width: int = 900


def _spark(alert: Alert, width: int = 320, height: int = 70) -> Spark | None:
    pts = [(parse_timestamp(t), v) for t, v in alert.series if v is not None]
    if not pts:
        return None
    t0 = min(min(p[0] for p in pts), alert.window_start)
    t1 = max(max(p[0] for p in pts), alert.window_end)
    span = max((t1 - t0).total_seconds(), 1.0)
    limits = [x for x in (alert.threshold, alert.band_hi, alert.band_lo) if x is not None]
    vmax = max([v for _, v in pts] + limits + [1e-9]) * 1.1

    def x(t: dt.datetime) -> float:
        return round((t - t0).total_seconds() / span * width, 1)

    def y(v: float) -> float:
        return round(height - v / vmax * height, 1)

    points = " ".join(f"{x(t)},{y(v)}" for t, v in sorted(pts))
    band = None
    if alert.band_lo is not None or alert.band_hi is not None:
        band = (y(alert.band_hi if alert.band_hi is not None else vmax), y(alert.band_lo or 0.0))
    limit = y(alert.threshold) if alert.threshold is not None and band is None else None
    return Spark(width, height, points, limit, band, (x(alert.window_start), x(alert.window_end)), vmax)


def alerts_page(alerts: list[Alert], run: CheckRun | None = None, index_href: str | None = None,
                title: str = "Alerts") -> AlertsPage:
    """Build the page context: order by severity then time; the timeline spans the run (or the alerts)."""
    ordered = sorted(alerts, key=lambda a: (SEVERITY_ORDER.get(a.severity, 9), a.window_start, a.check, a.entity))
    start = run.range_start if run else (min(a.window_start for a in alerts) if alerts else None)
    end = run.range_end if run else (max(a.window_end for a in alerts) if alerts else None)
    rows = sorted({a.check for a in alerts})
    width = 900
    bars = []
    if start is not None and end is not None:
        span = max((end - start).total_seconds(), 1.0)
        for a in alerts:
            x = max(0.0, (a.window_start - start).total_seconds() / span * width)
            w = max(3.0, (a.window_end - a.window_start).total_seconds() / span * width)
            bars.append(TimelineBar(a, round(x, 1), round(w, 1), rows.index(a.check)))
    counts: dict[str, int] = {}
    for a in alerts:
        counts[a.check] = counts.get(a.check, 0) + 1
    return AlertsPage(title, ordered, {a.id: _spark(a) for a in alerts}, bars, rows, start, end, run, index_href,
                      counts, width)


def render_alerts_html(alerts: list[Alert], run: CheckRun | None = None, index_href: str | None = None) -> str:
    """One self-contained page: timeline, a table of alerts with their series and evidence commands."""
    from forensics.render.html import environment  # jinja2 only when HTML is asked for

    env = environment()
    env.filters["num"] = _num
    return env.get_template("alerts.html").render(page=alerts_page(alerts, run, index_href))
