"""Coverage per bin: what the case holds for each bin of a report (queries/runs/coverage.sql), and the basis each
bin's figure rests on under --basis auto | packets | flows (queries/runs/bin_sources.sql)."""

from __future__ import annotations

import datetime as dt

import duckdb

from forensics.errors import UsageError
from forensics.resources import read_sql

LEVELS = ("packets", "flows", "sampled", "partial", "none")
# Levels whose values are not measured traffic: the renderers show no figure (JSON null) for them.
NO_DATA = ("none",)
# --basis: auto takes the finest data held per bin; packets and flows force one way of binning.
BASES = ("auto", "packets", "flows")
# The basis of one bin (ReportResult.bin_basis): each packet in the bin of its own time, or each flow's whole
# volume in the bin of its start; None when the chosen basis has no data for the bin (value null).
PACKET_TIME, FLOW_START = "packet-time", "flow-start"


def check_basis(value: object) -> str:
    """The --basis value, lower case; UsageError naming the choices otherwise."""
    text = str(value or "auto").strip().lower()
    if text not in BASES:
        raise UsageError(f"--basis {value!r}: use one of {', '.join(BASES)}")
    return text


def bin_coverage(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime,
                 bin_secs: int) -> dict[dt.datetime, str]:
    """{bin start: 'packets' | 'flows' | 'sampled' | 'partial' | 'none'} for every bin of [start, end)."""
    rows = con.execute(read_sql("runs/coverage.sql"),
                       {"from_ts": start, "to_ts": end, "bin_secs": bin_secs}).fetchall()
    return with_drops(con, dict(rows), start, end, bin_secs)


def _drop_counts_held(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the case has the drop counter columns and the sequence gap table (a case made before them and
    opened read-only has neither until its next writable open)."""
    found = con.execute("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' AND "
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
    flows are held (from packets or exported). None also for a bin whose coverage is none or summary.
    """
    sources = {b: (p, x) for b, p, x in con.execute(
        read_sql("runs/bin_sources.sql"), {"from_ts": start, "to_ts": end, "bin_secs": bin_secs}).fetchall()}
    out: dict[dt.datetime, str | None] = {}
    for t, (packets, exports) in sources.items():
        level = coverage.get(t, "none")
        if level in ("none", "summary") or not (packets or exports):
            out[t] = None
        elif basis == "flows":
            out[t] = FLOW_START
        elif level == "packets" or (level == "partial" and packets):
            out[t] = PACKET_TIME
        else:
            out[t] = FLOW_START if basis == "auto" else None
    return out
