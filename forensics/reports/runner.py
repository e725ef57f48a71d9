"""Run one report definition against a case: bind parameters, shape the rows into a ReportResult.

Output contract of a report query (one row per item and bin, plus one per item for the whole window):
    section   VARCHAR    optional; which `-- section:` the row belongs to
    rank      INTEGER    item order in its section (1 = largest)
    others    BOOLEAN    optional; true on the "Others" row (everything beyond the top N)
    <dims>    VARCHAR    the dimension columns named in the header (text as shown)
    bin       TIMESTAMP  start of the bin; NULL on the item's row for the whole window
    <measures>           the measure columns named in the header, averaged per second over the bin or window
A report with a parameter `attributes` shows the dimensions listed in it (the generic attribute report).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from forensics import __version__
from forensics.config import CaseConfig, load_config
from forensics.errors import DefinitionError, UsageError
from forensics.reports.context import install_context
from forensics.reports.coverage import (
    bin_basis,
    bin_coverage,
    check_basis,
    install_summary,
    summary_range,
    summary_usable,
)
from forensics.reports.result import Item, ReportResult, SectionResult, Source
from forensics.reports.rollup import Rolled, install_rollup, rollup_usable
from forensics.reports.scopes import (
    build_flow_filters,
    cleanup,
    filter_fragment,
    restrict_flows,
    scope_sql,
)
from forensics.reports.timebins import resolve_window
from forensics.reports.traffic import (
    BINNING_FLOWS,
    BINNING_PACKETS,
    CaptureSpan,
    Restriction,
    binning,
    capture_spans,
    captures_range,
    case_flows,
    fill_packet_bins,
    filter_restriction,
    flow_spans,
    flows_only_when_no_packets,
    greatest,
    home_bits_usable,
    install_export_spans,
    install_flow_traffic,
    least,
    span_range,
)
from forensics.reports.units import UNITS, empty_hints, measure_units
from forensics.resources import queries_dir
from forensics.sqlfiles import Catalog, Definition, load_catalog
from forensics.store.catalog_probe import steady_catalog
from forensics.store.lake_stats import pin_parts, unpin

# Option keys taken out of `params` before the report's own parameters are bound.
WINDOW_KEYS = ("from", "to", "period", "end", "bin", "scope", "basis")


def bundled_reports_dir() -> Path:
    """The shipped `queries/reports/` folder."""
    return queries_dir() / "reports"


def list_reports(queries_dirs: tuple | list = ()) -> Catalog:
    """Every report: the bundled ones, then each user folder (a later folder overrides by name)."""
    return load_catalog([bundled_reports_dir(), *queries_dirs])


def _ip_version(value: object) -> int:
    text = str(value).strip().lower().removeprefix("ipv")
    mapping = {"4": 4, "6": 6, "0": 0, "both": 0, "all": 0, "4+6": 0}
    if text not in mapping:
        raise UsageError(f"ip version {value!r}: use 4, 6 or both")
    return mapping[text]


def _definition(catalog: Catalog, name: str) -> Definition:
    if name in catalog:
        return catalog[name]
    broken = [e for e in catalog.errors if Path(e.path).stem == name]
    if broken:
        raise broken[0]
    raise UsageError(f"no report called {name!r} (known: {', '.join(catalog.names())}); see `forensics reports`")


def _bind(definition: Definition, given: dict, standard: dict) -> dict:
    values = {}
    for param in definition.params:
        if param.name in given:
            try:
                values[param.name] = param.coerce(given[param.name])
            except ValueError as exc:
                raise UsageError(f"report {definition.name}: --param {param.name}: {exc}") from None
        elif param.name in standard:
            values[param.name] = param.coerce(standard[param.name])
        elif param.has_default:
            values[param.name] = param.default
        else:
            raise UsageError(f"report {definition.name}: parameter {param.name} ({param.type}) needs a value: "
                             f"--param {param.name}=...")
    return values


_TYPED = {"VARCHAR": duckdb.StringValue, "INTEGER": duckdb.IntegerValue, "BIGINT": duckdb.LongValue,
          "DOUBLE": duckdb.DoubleValue, "BOOLEAN": duckdb.BooleanValue, "TIMESTAMP": duckdb.TimestampValue}


def _typed(definition: Definition, values: dict) -> dict:
    """Values wrapped in DuckDB values of the declared types (so $bin_secs is a BIGINT, not an INTEGER)."""
    return {k: (v if v is None else _TYPED[definition.param(k).type](v)) for k, v in values.items()}


def _sources(con: duckdb.DuckDBPyConnection, spans: list[CaptureSpan] | None = None) -> list[Source]:
    """The captures of the case with their time range and flow count (`spans`: capture_spans of the case's
    own flows when already at hand)."""
    if spans is None:
        spans = capture_spans(con, case_flows(con))
    by_id = {s.capture_id: s for s in spans}
    rows = con.execute("SELECT capture_id, path, sha256, format, first_ts, last_ts FROM captures "
                       "ORDER BY capture_id").fetchall()
    out = []
    for cid, path, sha, fmt, first, last in rows:
        span = by_id.get(cid)
        out.append(Source(cid, path, sha, fmt, first if first is not None else (span and span.first_ts),
                          last if last is not None else (span and span.last_ts), span.flows if span else 0))
    return out


def _shape(definition: Definition, columns: list[str], rows: list[tuple], dims_shown: list[str] | None,
           ) -> list[SectionResult]:
    missing = [c for c in ("rank", "bin", *definition.measures) if c not in columns]
    if missing:
        raise DefinitionError(definition.path, None, f"the query returns no column(s) {', '.join(missing)}")
    if definition.sections:
        specs = [(s.name, list(s.dimensions)) for s in definition.sections]
        if "section" not in columns:
            raise DefinitionError(definition.path, None, "sections are declared but no 'section' column returned")
    else:
        specs = [(definition.name, dims_shown if dims_shown is not None else list(definition.dimensions))]
    idx = {c: i for i, c in enumerate(columns)}
    for _, dims in specs:
        absent = [d for d in dims if d not in idx]
        if absent:
            raise DefinitionError(definition.path, None, f"the query returns no dimension column(s) {absent}")
    sections = {name: SectionResult(name, dims, list(definition.measures)) for name, dims in specs}
    slots: dict[str, dict[int, int]] = {name: {} for name in sections}
    ordered = sorted(rows, key=lambda r: (r[idx["rank"]] is None, r[idx["rank"]] or 0, r[idx["bin"]] is not None))
    for row in ordered:
        sname = row[idx["section"]] if definition.sections else definition.name
        if sname not in sections:
            continue
        section = sections[sname]
        rank = int(row[idx["rank"]] or 0)
        values = [None if row[idx[m]] is None else float(row[idx[m]]) for m in definition.measures]
        if rank not in slots[sname]:
            others = bool(row[idx["others"]]) if "others" in idx else False
            names = [None if row[idx[d]] is None else str(row[idx[d]]) for d in section.dimensions]
            section.items.append(Item(rank, names, [None] * len(values), others))
            slots[sname][rank] = len(section.items) - 1
        pos = slots[sname][rank]
        if row[idx["bin"]] is None:
            section.items[pos].values = values
        else:
            section.series.setdefault(row[idx["bin"]], {})[pos] = values
    for section in sections.values():
        section.series = dict(sorted(section.series.items()))
    return list(sections.values())


def run_report(case: object, name: str, params: dict | None = None, *, config: CaseConfig | None = None,
               queries_dirs: tuple | list = (), filter_expr: str | None = None) -> ReportResult:
    """Run report `name` on an open Case and return its ReportResult.

    `params` holds the report's own parameters (strings are coerced to the declared types) and the window
    options: from, to (ISO times), period (daily ... yearly) with end, bin ('5min', 3600), unit (bps|pps),
    ip_version (4|6|both), top, scope (any|home|boundary|subnetwork:NAME|farm:NAME|filter:NAME|business|
    after_hours).
    """
    given = dict(params or {})
    con = case.con
    if config is None:
        config = load_config(None, getattr(case, "path", None))
    catalog = list_reports((*config.queries_dirs, *queries_dirs))
    definition = _definition(catalog, name)
    unit = str(given.pop("unit", definition.unit)).lower()
    if definition.param("unit") is None:
        if unit != definition.unit:
            raise UsageError(f"report {name} is in {definition.unit} only; drop --unit {unit}")
    elif unit not in UNITS:
        raise UsageError(f"unit {unit!r}: use {', '.join(UNITS)}")
    ip_version = _ip_version(given.pop("ip_version", 0))
    options = {k: given.pop(k) for k in WINDOW_KEYS if k in given}
    scope = str(options.get("scope") or "any")
    basis = check_basis(options.get("basis"))
    unknown = [k for k in given if definition.param(k) is None]
    if unknown:
        declared = ", ".join(p.name for p in definition.params)
        raise UsageError(f"report {name}: no parameter {', '.join(unknown)} (declared: {declared})")
    pinned: list[str] = []
    home_bits = False
    rolled = Rolled()
    with steady_catalog(con):  # the catalog asked once for the run (a run makes only TEMP objects)
        try:
            install_context(con, config)
            con.execute("SET VARIABLE forensics_basis = $basis", {"basis": basis})  # report_basis() in _context.sql
            restriction = Restriction()
            if scope.startswith("filter:"):
                scope_fragment = filter_fragment(scope.partition(":")[2], config)
            else:
                scope_params: dict = {}
                scope_fragment = (scope_sql(scope, config, scope_params), scope_params)
            restriction.flows.append(scope_fragment)
            restriction.packets.append(scope_fragment)
            if filter_expr:
                filter_restriction(filter_expr, restriction)
            restricted = restrict_flows(con, restriction.flows)
            flow_rows = flow_spans(con)
            install_export_spans(con, flow_rows)  # the coverage per bin reads these, not the flows
            pinned = pin_parts(con, homes=True)  # a lake's tables read part by part, with their Parquet statistics
            home_bits = home_bits_usable(con, config, pinned)  # is_home of each flow's ends read, not computed
            if home_bits:
                install_flow_traffic(con, True)
            spans = capture_spans(con, rows=flow_rows)
            case_spans = None if restricted else spans
            lo, hi = span_range(spans)
            if lo is None:
                case_spans = capture_spans(con, case_flows(con))
                lo, hi = span_range(case_spans)
                if lo is not None:
                    restriction.notes.append(f"no traffic matches scope {scope}"
                                             + (f" and --filter {filter_expr!r}" if filter_expr else "")
                                             + "; the window is the case's whole time range")
            if lo is None or "packets" in definition.needs:  # no IP traffic, or a report of every frame
                cap_lo, cap_hi = captures_range(con)
                if lo is None and cap_lo is not None:
                    restriction.notes.append("the case holds no IP traffic; the window is the captures' time range "
                                             "(first to last packet)")
                lo, hi = least(lo, cap_lo), greatest(hi, cap_hi)
            if summary_usable(definition.needs, None, scope, filter_expr):  # pruned bins answered from the summary
                lo, hi = summary_range(con, lo, hi)
            window = resolve_window((lo, hi), options.get("from"), options.get("to") or options.get("end"),
                                    options.get("period"), options.get("bin"))
            # a case whose captures hold no packet (flow files only) has none to bin: the scan of its packets is
            # skipped (5 ms on a lake)
            packets_held = con.execute("SELECT count(*) FROM captures WHERE packets > 0").fetchone()[0] > 0
            # --basis flows: every flow in the bin of its start, no packet binning
            if basis != "flows" and packets_held:
                fill_packet_bins(con, window.start, window.end, window.bin_secs, restriction.packets)
            use_summary = summary_usable(definition.needs, window.bin_secs, scope, filter_expr)
            install_summary(con, use_summary)
            # 5-minute rollups of exported flows read in place of those flows (`-- needs: rollup`)
            rolled = install_rollup(con, rollup_usable(definition.needs, window.start, window.end, window.bin_secs,
                                                       scope, filter_expr, basis), config, home_bits)
            if "flow_filters" in definition.needs:
                build_flow_filters(con, config)
                for fname in config.filters if basis != "flows" and packets_held else ():
                    fill_packet_bins(con, window.start, window.end, window.bin_secs,
                                     [*restriction.packets, filter_fragment(fname, config)], fname)
            flows_only_when_no_packets(con)
            binned, binning_notes = binning(con, window.start, window.end, spans)
            if basis != "auto":
                binned, binning_notes = (BINNING_FLOWS, []) if basis == "flows" else (BINNING_PACKETS, [])
                binning_notes.append(f"--basis {basis}: " + (
                    "every flow (from packets or exported) is binned by its start, even where packets are held"
                    if basis == "flows" else "only packets held count; exported flows are left out and bins "
                    "without packets held have no value"))
            restriction.notes.extend(binning_notes)
            standard = {"from_ts": window.start, "to_ts": window.end, "bin_secs": window.bin_secs, "unit": unit,
                        "ip_version": ip_version}
            bound = _bind(definition, given, standard)
            dims_shown = None
            if definition.param("attributes") is not None:
                dims_shown = [a.strip() for a in str(bound["attributes"]).split(",") if a.strip()]
                bad = [a for a in dims_shown if a not in definition.dimensions]
                if bad or not dims_shown:
                    raise UsageError(f"report {name}: attributes {', '.join(bad) or '(none)'} not known; "
                                     f"choose from {', '.join(definition.dimensions)}")
            try:
                cursor = con.execute(definition.sql, _typed(definition, bound))
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchall()
            except duckdb.Error as exc:
                raise DefinitionError(definition.path, None, f"query failed: {str(exc).splitlines()[0]}") from None
            sections = _shape(definition, columns, rows, dims_shown)
            sources = _sources(con, case_spans)
            coverage = bin_coverage(con, window.start, window.end, window.bin_secs, use_summary)
            per_bin_basis = bin_basis(con, window.start, window.end, window.bin_secs, basis, coverage)
        finally:
            if home_bits or rolled.captures:
                install_flow_traffic(con, False)
            unpin(con, pinned)
            cleanup(con)
            con.execute("RESET VARIABLE forensics_basis")
    shown_params = {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in bound.items()}
    pair = ["in", "out"] if {"in", "out"} <= set(definition.measures) else list(definition.measures[:1])
    notes = restriction.notes + empty_hints(definition.name, sections, params=shown_params)
    return ReportResult(
        name=definition.name, title=definition.title, description=definition.description, unit=unit,
        bin_secs=window.bin_secs, start=window.start, end=window.end, ip_version=ip_version,
        params=shown_params, sql=definition.sql, definition_path=definition.path, sections=sections,
        sources=sources, config=config.summary(), filter_expr=filter_expr, scope=scope, pair_measures=pair,
        generated_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0),
        forensics_version=__version__, measure_units=measure_units(definition.measures, unit), binning=binned,
        notes=notes, coverage=coverage, basis=basis, bin_basis=per_bin_basis,
    )
