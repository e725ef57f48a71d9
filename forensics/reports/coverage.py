"""Coverage per bin: what the case holds for each bin of a report (queries/runs/coverage.sql), the basis each
bin's figure rests on under --basis auto | packets | flows (queries/runs/bin_sources.sql), and what retention
removed (install_retention: since when each capture's packets and flows are held, and the summary kept for the
bins whose flows are gone)."""

from __future__ import annotations

import datetime as dt

import duckdb

from forensics.errors import UsageError
from forensics.resources import read_sql
from forensics.store import retain as retained
from forensics.store.bulk_insert import temp_table
from forensics.store.catalog_probe import persistent_objects

LEVELS = ("packets", "flows", "sampled", "partial", "summary", "none")
# Levels whose values are not measured traffic: the renderers show no figure (JSON null) for them.
NO_DATA = ("none",)
# --basis: auto takes the finest data held per bin; packets and flows force one way of binning.
BASES = ("auto", "packets", "flows")
# The basis of one bin (ReportResult.bin_basis): each packet in the bin of its own time, or each flow's whole
# volume in the bin of its start; None when the chosen basis has no data for the bin (value null).
PACKET_TIME, FLOW_START = "packet-time", "flow-start"
# A bin answered from the 5-minute summary kept by retention (coverage `summary`, --basis auto only).
SUMMARY_BASIS = "summary"


def check_basis(value: object) -> str:
    """The --basis value, lower case; UsageError naming the choices otherwise."""
    text = str(value or "auto").strip().lower()
    if text not in BASES:
        raise UsageError(f"--basis {value!r}: use one of {', '.join(BASES)}")
    return text


# A report whose header says `-- needs: summary` reads summary_traffic() and answers pruned bins from it.
NEEDS_SUMMARY = "summary"

_SUMMARY_COLUMNS = ("capture_id INTEGER, bin TIMESTAMP, basis VARCHAR, src_zone VARCHAR, dst_zone VARCHAR, "
                    "direction VARCHAR, ip_version UTINYINT, ip_proto UTINYINT, bytes UBIGINT, packets UBIGINT, "
                    "flows UBIGINT")


def _ts_literal(t: dt.datetime) -> str:
    return f"TIMESTAMP '{t.isoformat(sep=' ')}'"


def install_retention(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP table _retained(capture_id, packets_before, flows_before) and the macro packets_gone_before(c)
    (the time before which capture c's packets were removed, NULL when none were), from the retention log.

    The macro holds the times as literals (values read from the case, formatted by isoformat), so traffic()
    tests them inside the scan of the flows without a join.
    """
    rows = retained.held(con)
    temp_table(con, "_retained", "capture_id INTEGER, packets_before TIMESTAMP, flows_before TIMESTAMP", rows)
    cases = " ".join(f"WHEN {int(cid)} THEN {_ts_literal(before)}" for cid, before, _ in rows)
    body = f"CASE c {cases} ELSE CAST(NULL AS TIMESTAMP) END" if cases else "CAST(NULL AS TIMESTAMP)"
    con.execute(f"CREATE OR REPLACE TEMP MACRO packets_gone_before(c) AS {body}")
    # nothing pruned: a constant, which DuckDB folds out of traffic()'s scan of the flows
    gone = "coalesce(last_ts < packets_gone_before(c), false)" if cases else "false"
    con.execute(f"CREATE OR REPLACE TEMP MACRO packets_gone(c, last_ts) AS {gone}")
    install_summary(con, False)


def install_summary(con: duckdb.DuckDBPyConnection, usable: bool) -> None:
    """TEMP table _summary, which summary_traffic() reads: the traffic_summary rows of bins whose flows were
    removed when `usable` (a report that needs the summary, in 5-minute multiples, unscoped and unfiltered),
    else empty."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _summary ({_SUMMARY_COLUMNS})")
    if usable and retained.has_retention(con):
        con.execute("INSERT INTO _summary SELECT s.* FROM traffic_summary s JOIN _retained r USING (capture_id) "
                    "WHERE s.bin < r.flows_before")


def summary_usable(needs: tuple[str, ...], bin_secs: int | None, scope: str, filter_expr: str | None) -> bool:
    """Whether a report can answer pruned bins from the 5-minute summary: it says `-- needs: summary`, its bins
    are whole multiples of 5 minutes (None: not chosen yet), and no scope or filter narrows the traffic (the
    summary has no addresses)."""
    fits = bin_secs is None or bin_secs % retained.SUMMARY_BIN_SECS == 0
    return NEEDS_SUMMARY in needs and fits and scope == "any" and not filter_expr


def summary_range(con: duckdb.DuckDBPyConnection, lo: dt.datetime | None, hi: dt.datetime | None,
                  ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The data range (lo, hi) widened to the summary of the bins whose flows retention removed, so that a
    report answering them from the summary shows them without --from/--to."""
    if not retained.has_retention(con):
        return lo, hi
    first, last = con.execute("SELECT min(s.bin), max(s.bin) FROM traffic_summary s JOIN _retained r "
                              "USING (capture_id) WHERE s.bin < r.flows_before").fetchone()
    if first is None:
        return lo, hi
    last += dt.timedelta(seconds=retained.SUMMARY_BIN_SECS, microseconds=-1)
    return (first if lo is None else min(lo, first)), (last if hi is None else max(hi, last))


def bin_coverage(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime,
                 bin_secs: int, summary: bool = False) -> dict[dt.datetime, str]:
    """{bin start: 'packets' | 'flows' | 'sampled' | 'partial' | 'summary' | 'none'} for every bin of
    [start, end); `summary` when the report answers pruned bins from the summary (else they are 'none'). Reads
    the TEMP tables _retained (install_retention) and _export_spans (install_export_spans), which the report
    runner makes before it."""
    rows = con.execute(read_sql("runs/coverage.sql"),
                       {"from_ts": start, "to_ts": end, "bin_secs": bin_secs, "summary": summary}).fetchall()
    return with_drops(con, dict(rows), start, end, bin_secs)


def _drop_counts_held(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the case has the drop counter columns and the sequence gap table (a case made before them and
    opened read-only has neither until its next writable open)."""
    taken = persistent_objects(con)  # within a report run: from its one look at the catalog
    if taken is not None:
        return taken.drop_columns == 4 and "flow_sequence_gaps" in taken.tables
    found = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND "
                        "((table_name = 'interfaces' AND column_name IN ('isb_ifdrop', 'isb_osdrop', "
                        "'isb_starttime', 'isb_endtime')) OR table_name = 'flow_sequence_gaps')").fetchone()[0]
    return found >= 5


def with_drops(con: duckdb.DuckDBPyConnection, coverage: dict[dt.datetime, str], start: dt.datetime,
               end: dt.datetime, bin_secs: int) -> dict[dt.datetime, str]:
    """`coverage` with every packets, flows or sampled bin that a source known to have dropped overlaps made
    'partial' (queries/runs/dropped_bins.sql: pcapng interface drop counters, NetFlow/IPFIX sequence gaps)."""
    if not _drop_counts_held(con):
        return coverage
    dropped = con.execute(read_sql("runs/dropped_bins.sql"),
                          {"from_ts": start, "to_ts": end, "bin_secs": bin_secs}).fetchall()
    out = dict(coverage)
    for (t,) in dropped:
        if out.get(t) in ("packets", "flows", "sampled"):
            out[t] = "partial"
    return out


def bin_basis(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime, bin_secs: int,
              basis: str, coverage: dict[dt.datetime, str]) -> dict[dt.datetime, str | None]:
    """{bin start: 'packet-time' | 'flow-start' | None} for every bin of [start, end) under `basis`.

    auto: packet time where packets are held (a partial bin: where a capture of packets overlaps it), flow start
    where only flows are; packets: packet time where packets are held, else None; flows: flow start wherever
    flows are held (from packets or exported). A summary bin: "summary" under auto, else None. Reads the TEMP
    table _export_spans (install_export_spans).
    """
    sources = {b: (p, x) for b, p, x in con.execute(
        read_sql("runs/bin_sources.sql"), {"from_ts": start, "to_ts": end, "bin_secs": bin_secs}).fetchall()}
    out: dict[dt.datetime, str | None] = {}
    for t, (packets, exports) in sources.items():
        level = coverage.get(t, "none")
        if level == "summary":
            out[t] = SUMMARY_BASIS if basis == "auto" else None
        elif level == "none" or not (packets or exports):
            out[t] = None
        elif basis == "flows":
            out[t] = FLOW_START
        elif level == "packets" or (level == "partial" and packets):
            out[t] = PACKET_TIME
        else:
            out[t] = FLOW_START if basis == "auto" else None
    return out
