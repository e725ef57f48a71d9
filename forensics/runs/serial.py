"""A ReportResult to JSON and back (stored with its run, so a reused run renders as computed), and its values
as rows (section, item, bin, measure, value) for report_run_values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pyarrow as pa

from forensics.reports.result import Item, ReportResult, SectionResult, Source


def _ts(t: dt.datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _dt(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def result_to_json(result: ReportResult) -> str:
    """The whole result as JSON text (datetimes ISO, naive UTC)."""
    doc = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)
           if f.name not in ("sections", "sources", "start", "end", "generated_at", "coverage", "bin_basis")}
    doc["coverage"] = [[_ts(t), level] for t, level in result.coverage.items()]
    doc["bin_basis"] = [[_ts(t), b] for t, b in result.bin_basis.items()]
    doc["start"], doc["end"], doc["generated_at"] = _ts(result.start), _ts(result.end), _ts(result.generated_at)
    doc["sources"] = [{**dataclasses.asdict(s), "first_ts": _ts(s.first_ts), "last_ts": _ts(s.last_ts)}
                      for s in result.sources]
    doc["sections"] = [{"name": s.name, "dimensions": s.dimensions, "measures": s.measures,
                        "empty_hint": s.empty_hint, "items": [dataclasses.asdict(i) for i in s.items],
                        "series": [[_ts(t), [[k, v] for k, v in row.items()]] for t, row in s.series.items()]}
                       for s in result.sections]
    return json.dumps(doc, default=str)


def result_from_json(text: str) -> ReportResult:
    """The ReportResult stored by result_to_json."""
    doc = json.loads(text)
    sections = [SectionResult(name=s["name"], dimensions=s["dimensions"], measures=s["measures"],
                              items=[Item(**i) for i in s["items"]],
                              series={_dt(t): {int(k): v for k, v in row} for t, row in s["series"]},
                              empty_hint=s["empty_hint"]) for s in doc.pop("sections")]
    sources = [Source(**{**s, "first_ts": _dt(s["first_ts"]), "last_ts": _dt(s["last_ts"])})
               for s in doc.pop("sources")]
    known = {f.name for f in dataclasses.fields(ReportResult)}
    fields = {k: v for k, v in doc.items() if k in known}
    fields.update(start=_dt(doc["start"]), end=_dt(doc["end"]), generated_at=_dt(doc["generated_at"]),
                  coverage={_dt(t): level for t, level in doc.get("coverage", [])},
                  bin_basis={_dt(t): b for t, b in doc.get("bin_basis", [])})
    return ReportResult(sections=sections, sources=sources, **fields)


VALUES_SCHEMA = pa.schema([("section", pa.string()), ("item", pa.string()), ("bin", pa.timestamp("us")),
                           ("measure", pa.string()), ("value", pa.float64())])


def result_values(result: ReportResult) -> pa.Table:
    """One row per section, item, bin (None = the whole window) and measure, as report_run_values holds them."""
    cols: dict[str, list] = {n: [] for n in VALUES_SCHEMA.names}

    def add(section: str, item: str, t: dt.datetime | None, measures: list[str], values: list) -> None:
        for m, v in zip(measures, values, strict=False):
            cols["section"].append(section)
            cols["item"].append(item)
            cols["bin"].append(t)
            cols["measure"].append(m)
            cols["value"].append(v)

    for section in result.sections:
        labels = [it.label for it in section.items]
        for it in section.items:
            add(section.name, it.label, None, section.measures, it.values)
        for t, row in section.series.items():
            for pos, values in row.items():
                add(section.name, labels[pos], t, section.measures, values)
    return pa.table(cols, schema=VALUES_SCHEMA)
