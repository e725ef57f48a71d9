"""What a report run returns and renderers consume: plain data, no database objects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Item:
    """One row of a top-N table: its rank, its dimension values (text) and its measures over the period."""

    rank: int
    names: list[str]
    values: list[float | None]
    others: bool = False

    @property
    def label(self) -> str:
        """The item's dimension values joined for display ("Others" for the remainder row)."""
        return "Others" if self.others else " / ".join(n if n is not None else "-" for n in self.names)


@dataclass
class SectionResult:
    """One part of a report: a top-N table plus a time series per item.

    `series[bin_start][i]` is the list of measures of `items[i]` in that bin (absent = no traffic).
    `empty_hint`, on a section with no items: which traffic was searched and how to widen the search.
    """

    name: str
    dimensions: list[str]
    measures: list[str]
    items: list[Item] = field(default_factory=list)
    series: dict[dt.datetime, dict[int, list[float | None]]] = field(default_factory=dict)
    empty_hint: str = ""


@dataclass
class Source:
    """A capture or flow file the case holds, with its time coverage."""

    capture_id: int
    path: str
    sha256: str
    format: str
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None
    flows: int


@dataclass
class ReportResult:
    """A finished report: metadata, parameters, provenance and its sections."""

    name: str
    title: str
    description: str
    unit: str
    bin_secs: int
    start: dt.datetime
    end: dt.datetime
    ip_version: int
    params: dict[str, object]
    sql: str
    definition_path: str
    sections: list[SectionResult]
    sources: list[Source] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    filter_expr: str | None = None
    scope: str = "any"
    pair_measures: list[str] = field(default_factory=list)
    generated_at: dt.datetime | None = None
    forensics_version: str = ""
    # Unit and layer of each measure, e.g. {"in": "bps (IP layer)", "bytes": "bytes (IP layer)"}; renderers fall
    # back to `unit` for rate measures and to the measure's own name for counts.
    measure_units: dict[str, str] = field(default_factory=dict)
    # How flows were put into bins: "packet-time" (each packet in its own bin) or "flow-start" (a flow's whole
    # volume in the bin where it started).
    binning: str = "flow-start"
    # Sentences the renderers show with the result (why it is empty, what a filter applied to, ...).
    notes: list[str] = field(default_factory=list)
    # What the case holds for each bin (forensics/runs/coverage.py): packets | flows | sampled | partial | none;
    # empty when not computed. Renderers show no figure for a 'none' bin (JSON null, never 0).
    coverage: dict[dt.datetime, str] = field(default_factory=dict)
    # --basis: auto (the finest data held per bin), packets or flows; and per bin what its figure rests on:
    # 'packet-time', 'flow-start', or None where the basis has no data for the bin (value null, like 'none').
    basis: str = "auto"
    bin_basis: dict[dt.datetime, str | None] = field(default_factory=dict)

    def has_value(self, t: dt.datetime) -> bool:
        """Whether bin t has a figure: its coverage is not none and, under a basis, the basis has data for it."""
        if self.bin_basis:
            return self.bin_basis.get(t) is not None
        return self.coverage.get(t) != "none"

    @property
    def ip_version_text(self) -> str:
        """'IPv4', 'IPv6' or 'IPv4+IPv6' (the envelope's "ip version")."""
        return {4: "IPv4", 6: "IPv6"}.get(self.ip_version, "IPv4+IPv6")

    def bins(self) -> list[dt.datetime]:
        """Every bin start of the window, empty ones included, in order."""
        out = []
        step = dt.timedelta(seconds=self.bin_secs)
        t = self.start
        while t < self.end:
            out.append(t)
            t += step
        return out
