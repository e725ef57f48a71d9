"""What a check run returns and renderers consume: plain data, no database objects."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field


def iso_z(t: dt.datetime | None) -> str | None:
    """Naive UTC datetime -> '2026-03-10T02:30:00Z' (microseconds kept when present)."""
    if t is None:
        return None
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds") + "Z"


@dataclass
class Alert:
    """One stored alert (see queries/schema/alerts.sql for every field)."""

    id: int
    check: str
    severity: str
    category: str
    entity: str
    window_start: dt.datetime
    window_end: dt.datetime
    value: float | None
    threshold: float | None
    unit: str
    detail: str
    evidence: str
    series: list[tuple[str, float]] = field(default_factory=list)
    band_lo: float | None = None
    band_hi: float | None = None
    params: dict = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: dict) -> Alert:
        """From a row of the alerts table (series and params are JSON text there)."""
        return cls(
            id=int(row["id"]), check=row["check"], severity=row["severity"], category=row.get("category") or "",
            entity=row["entity"], window_start=row["window_start"], window_end=row["window_end"],
            value=row["value"], threshold=row["threshold"], unit=row["unit"] or "", detail=row["detail"] or "",
            evidence=row["evidence"] or "", series=[tuple(p) for p in json.loads(row.get("series") or "[]")],
            band_lo=row.get("band_lo"), band_hi=row.get("band_hi"), params=json.loads(row.get("params") or "{}"),
        )

    def command(self, action: str = "carve") -> str:
        """The command that shows (`packets`) or writes (`carve`) the alert's evidence."""
        if action == "packets":
            return f"forensics packets --alert {self.id}"
        return f"forensics carve --alert {self.id} -w alert-{self.id}.pcap"

    def to_dict(self) -> dict:
        """JSON-ready form: times as ISO-8601 with Z."""
        return {"id": self.id, "check": self.check, "severity": self.severity, "category": self.category,
                "entity": self.entity, "window_start": iso_z(self.window_start),
                "window_end": iso_z(self.window_end), "value": self.value, "threshold": self.threshold,
                "unit": self.unit, "detail": self.detail, "evidence": self.evidence,
                "series": [list(p) for p in self.series], "band_lo": self.band_lo, "band_hi": self.band_hi,
                "params": self.params}


@dataclass
class CheckSummary:
    """One check of a run: its definition, the parameters it ran with, how many alerts, how long."""

    name: str
    title: str
    severity: str
    category: str
    params: dict
    alerts: int
    seconds: float
    path: str = ""


@dataclass
class CheckRun:
    """A finished `forensics check`: the range it covered, each check's summary, the alerts it stored."""

    range_start: dt.datetime
    range_end: dt.datetime
    checks: list[CheckSummary]
    alerts: list[Alert]
    config_source: str = "built-in defaults"
    errors: list[str] = field(default_factory=list)  # checks skipped: 'FILE:LINE: why' (exit code 1)
