"""The GenieATM-compatible JSON envelope (schema: forensics/schemas/report.schema.json).

    {"response": {"status": "succ", "result": {"output_file": ..., "data": {
        "report": "Internet>Breakdown>Origin ASN", "unit": "bps", "aggregation_unit": "5 min",
        "datetime_start", "datetime_end", "ip version": "Both",
        "data": {"items": {"item1": [name, ...]}, "value": {"2016-09-06T12:00:00Z": {"item1": [in, out]}}}}}}}
    {"response": {"status": "fail", "err": {"msg", "code", "description"}}}

The GenieATM fields carry GenieATM's own strings (forensics/render/genieatm.py); machine-friendly twins sit
beside them: `report_name` (the definition's name), `aggregation_seconds`, `ip_version` (0 = both, 4, 6).
Each value list holds the report's pair measures: [in, out] where the report has a direction, else [value].
Every bin of the window is present; an item with no traffic in a bin has zeros there. Where the result says
what the case holds per bin, `coverage` maps every bin to packets | flows | sampled | partial | summary | none beside
`value` (outside it, so GenieATM parsers keep working), and the `value` entry of a `none` bin holds null for every item.
`units` names the unit and layer of every measure ("bps (IP layer)"); `binning` says how flows were put into bins.
`basis` is the --basis asked for (auto | packets | flows) and each section's `basis` map says per bin what its figure
rests on: packet-time, flow-start, or null where the basis has no data for the bin (its `value` entry null).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from forensics.render.genieatm import ip_version_label, report_path
from forensics.render.units import bin_label, unit_of
from forensics.reports.result import ReportResult, SectionResult

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "report.schema.json"


def iso_z(t: dt.datetime | None) -> str | None:
    """Naive UTC datetime -> '2016-09-06T12:00:00Z' (microseconds kept when present)."""
    if t is None:
        return None
    return t.isoformat(timespec="microseconds" if t.microsecond else "seconds") + "Z"


def _section_data(result: ReportResult, section: SectionResult) -> dict:
    picks = [section.measures.index(m) for m in result.pair_measures if m in section.measures]
    keys = [f"item{i + 1}" for i in range(len(section.items))]
    zeros = [0.0] * len(picks)
    value: dict[str, dict | None] = {}
    for t in result.bins():
        if not result.has_value(t):  # no data held (or none of --basis) for the bin: null per item, never 0
            value[iso_z(t)] = dict.fromkeys(keys)
            continue
        row = section.series.get(t, {})
        value[iso_z(t)] = {k: ([row[i][j] for j in picks] if i in row else list(zeros)) for i, k in enumerate(keys)}
    extra = {"coverage": {iso_z(t): result.coverage.get(t, "none") for t in result.bins()}} if result.coverage else {}
    if result.bin_basis:  # what each bin's figure rests on: packet-time, flow-start, null (no value)
        extra["basis"] = {iso_z(t): result.bin_basis.get(t) for t in result.bins()}
    return {
        "name": section.name,
        "dimensions": list(section.dimensions),
        "measures": [section.measures[j] for j in picks],
        "units": {m: unit_of(result, m) for m in section.measures},
        "item_count": len(section.items),
        "items": {k: (["Others"] if it.others else [n if n is not None else "-" for n in it.names])
                  for k, it in zip(keys, section.items, strict=False)},
        "total": {k: [it.values[j] for j in picks] for k, it in zip(keys, section.items, strict=False)},
        "table": {k: dict(zip(section.measures, it.values, strict=False))
                  for k, it in zip(keys, section.items, strict=False)},
        "value": value,
        **extra,
    }


def envelope(result: ReportResult, output_file: str | None = None) -> dict:
    """The success envelope for a report result."""
    sections = [_section_data(result, s) for s in result.sections]
    first = sections[0] if sections else {"items": {}, "value": {}, "total": {}, "measures": [], "dimensions": [],
                                          "units": {}}
    units: dict[str, str] = {}
    for section in result.sections:
        for m in section.measures:
            units.setdefault(m, unit_of(result, m))
    return {"response": {"status": "succ", "result": {"output_file": output_file, "data": {
        "report": report_path(result),
        "report_name": result.name,
        "title": result.title,
        "unit": result.unit,
        "units": units,
        "aggregation_unit": bin_label(result.bin_secs),
        "aggregation_seconds": result.bin_secs,
        "datetime_start": iso_z(result.start),
        "datetime_end": iso_z(result.end),
        "ip version": ip_version_label(result.ip_version),
        "ip_version": result.ip_version,
        "binning": result.binning,
        "basis": result.basis,
        "notes": list(result.notes),
        "data": {k: first[k] for k in ("items", "value", "total", "measures", "dimensions", "units", "coverage",
                                       "basis")
                 if k in first},
        "sections": sections,
        "parameters": result.params,
        "scope": result.scope,
        "filter": result.filter_expr,
        "sources": [{"path": s.path, "sha256": s.sha256, "format": s.format, "first_ts": iso_z(s.first_ts),
                     "last_ts": iso_z(s.last_ts), "flows": s.flows} for s in result.sources],
        "config": result.config,
        "definition": result.definition_path,
        "generated_at": iso_z(result.generated_at),
        "forensics_version": result.forensics_version,
    }}}}


def error_envelope(msg: str, code: int = 2, description: str = "") -> dict:
    """The failure envelope."""
    return {"response": {"status": "fail", "err": {"msg": msg, "code": code, "description": description}}}


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # one instance: json.dumps(ensure_ascii=False) builds one per call


def _scalars(x: object) -> bool:
    return isinstance(x, list) and (not x or not isinstance(x[0], (list, dict)))


def _flat(obj: object) -> bool:
    """A list of scalars, or a dict of such lists (one bin's {"item1": [in, out], ...}): printed on one line.
    Judged by the first element only (a layout choice: whatever it decides, the JSON is the same document)."""
    if isinstance(obj, dict):
        return bool(obj) and _scalars(next(iter(obj.values())))
    return _scalars(obj)


def dumps_readable(obj: object, indent: int = 2, level: int = 0) -> str:
    """JSON indented like json.dumps(indent=2), except that a bin's values stay on one line.

    Same document, a quarter of the size and a tenth of the time on long windows: 52,560 bins of 11 items
    took 13.0 s and 106 MB with indent=2 for every number, against about 2 s and 30 MB this way.
    """
    if isinstance(obj, (dict, list)) and obj and not _flat(obj):
        pad, inner = " " * (indent * level), " " * (indent * (level + 1))
        if isinstance(obj, dict):
            body = [f"{inner}{_ENCODER.encode(str(k))}: {dumps_readable(v, indent, level + 1)}"
                    for k, v in obj.items()]
            return "{\n" + ",\n".join(body) + "\n" + pad + "}"
        body = [inner + dumps_readable(v, indent, level + 1) for v in obj]
        return "[\n" + ",\n".join(body) + "\n" + pad + "]"
    return _ENCODER.encode(obj)


def render_json(result: ReportResult, output_file: str | None = None) -> str:
    """The envelope as indented JSON text (one line per bin)."""
    return dumps_readable(envelope(result, output_file)) + "\n"


def render_error_json(msg: str, code: int = 2, description: str = "") -> str:
    """The failure envelope as JSON text."""
    return json.dumps(error_envelope(msg, code, description), indent=2, ensure_ascii=False) + "\n"
