"""Coverage per bin: what the case holds for each bin of a report (queries/runs/coverage.sql)."""

from __future__ import annotations

import datetime as dt

import duckdb

from forensics.resources import read_sql

LEVELS = ("packets", "flows", "sampled", "partial", "none")
# Levels whose values are not measured traffic: the renderers show no figure (JSON null) for them.
NO_DATA = ("none",)


def bin_coverage(con: duckdb.DuckDBPyConnection, start: dt.datetime, end: dt.datetime,
                 bin_secs: int) -> dict[dt.datetime, str]:
    """{bin start: 'packets' | 'flows' | 'sampled' | 'partial' | 'none'} for every bin of [start, end)."""
    rows = con.execute(read_sql("runs/coverage.sql"),
                       {"from_ts": start, "to_ts": end, "bin_secs": bin_secs}).fetchall()
    return dict(rows)
