"""What a lake's flow parts hold, answered from their Parquet footers (row-group statistics) instead of a scan.

A single-file case answers `min(first_ts), max(last_ts), count(*) ...` over its flows from DuckDB's own column
statistics; over the lake's view DuckDB scans every part (the views' glob always names the empty part too, and
DuckDB merges no statistics across files): 0.39 s of CPU per report on 10 M flows, more than the rest of
protocol_mix's setup together (issue 11/17, bench/README.md "Lake layout reports (s7)"). The footers are
cached (parquet_metadata_cache, set on open), so this costs a few milliseconds.

flow_part_spans() gives, per capture, kind (flows built from packets or exported) and sampling, what
forensics.reports.traffic.flow_spans computes by a scan, or None when the statistics cannot say it exactly
(a statistic missing or inexact, NULLs in the columns that decide the kind, a part mixing kinds or captures):
the caller scans then.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

# Per part: the statistics that settle kind, sampling, time range and row count. A part listed with capture_id 0
# is a shared file (forensics/store/lake_compact.py): its capture is its capture_id column's (one value or none).
_PART_STATS = """
SELECT file_name,
       min(stats_min_value) FILTER (WHERE path_in_schema = 'source') AS src_lo,
       max(stats_max_value) FILTER (WHERE path_in_schema = 'source') AS src_hi,
       min(TRY_CAST(stats_min_value AS BIGINT)) FILTER (WHERE path_in_schema = 'sampling_rate') AS rate_lo,
       max(TRY_CAST(stats_max_value AS BIGINT)) FILTER (WHERE path_in_schema = 'sampling_rate') AS rate_hi,
       min(TRY_CAST(stats_min_value AS BIGINT)) FILTER (WHERE path_in_schema = 'capture_id') AS cid_lo,
       max(TRY_CAST(stats_max_value AS BIGINT)) FILTER (WHERE path_in_schema = 'capture_id') AS cid_hi,
       min(TRY_CAST(stats_min_value AS TIMESTAMP)) FILTER (WHERE path_in_schema = 'first_ts') AS first_lo,
       max(TRY_CAST(stats_max_value AS TIMESTAMP)) FILTER (WHERE path_in_schema = 'first_ts') AS first_hi,
       max(TRY_CAST(stats_max_value AS TIMESTAMP)) FILTER (WHERE path_in_schema = 'last_ts') AS last_hi,
       sum(row_group_num_rows) FILTER (WHERE path_in_schema = 'first_ts') AS n,
       bool_or(stats_min_value IS NULL OR stats_max_value IS NULL OR stats_null_count IS DISTINCT FROM 0
               OR NOT coalesce(min_is_exact, true) OR NOT coalesce(max_is_exact, true))
           FILTER (WHERE row_group_num_rows > 0) AS unsure
FROM parquet_metadata($files)
WHERE path_in_schema IN ('source', 'sampling_rate', 'capture_id', 'first_ts', 'last_ts')
GROUP BY file_name
"""

Span = tuple[int, bool, bool, dt.datetime, dt.datetime, dt.datetime, int]

# What pin_single_parts shadows: the catalog's view and the macro that reads a list of parts as it.
_PINNED = {"flows": ("flows", "lake_flows"), "packets": ("packets", "lake_packets")}


def is_lake_flows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table` (a name as the report code passes it: `flows`, or the catalog-qualified main.flows) reads
    the lake's flows view: no TEMP `flows` shadows it (a report's scope restriction, an import's staged rows).
    False on another engine's connection (forensics/spark: its flows are Spark's own reading of the parts)."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return False
    row = con.execute(
        "SELECT (SELECT count(*) FROM duckdb_views() WHERE view_name = 'flows' AND NOT temporary "
        "        AND schema_name = 'main' AND database_name = current_database()), "
        "       (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'lake_parts' AND NOT temporary "
        "        AND schema_name = 'main' AND database_name = current_database()), "
        "       (SELECT count(*) FROM duckdb_tables() WHERE table_name = 'flows' AND temporary) "
        "     + (SELECT count(*) FROM duckdb_views() WHERE view_name = 'flows' AND temporary)").fetchone()
    views, parts, temps = row
    if not views or not parts:
        return False
    return table != "flows" or not temps


def flow_part_spans(con: duckdb.DuckDBPyConnection) -> list[Span] | None:
    """(capture_id, pcap, sampled, min first_ts, max last_ts, max first_ts, rows) per capture, kind and sampling
    of the lake's flow parts listed in lake_parts, from their footers; [] for no flows; None when unsure."""
    root = _root(con)
    parts = con.execute("SELECT path, capture_id FROM lake_parts WHERE table_name = 'flows' AND rows > 0").fetchall()
    if not parts or root is None:
        return [] if not parts else None
    files = {str(root / path): cid for path, cid in parts}
    try:
        rows = con.execute(_PART_STATS, {"files": list(files)}).fetchall()
    except duckdb.Error:  # a part gone or unreadable: the scan says what is wrong
        return None
    if len(rows) != len(files):
        return None
    spans: dict[tuple[int, bool, bool], list] = {}
    for name, src_lo, src_hi, rate_lo, rate_hi, cid_lo, cid_hi, first_lo, first_hi, last_hi, n, unsure in rows:
        if unsure or src_lo is None or src_lo != src_hi or None in (rate_lo, rate_hi, first_lo, first_hi, last_hi, n):
            return None
        cid = files.get(name)
        if cid is None:
            return None
        if cid == 0:  # a shared file: one capture's rows, or unsure
            if cid_lo is None or cid_lo != cid_hi:
                return None
            cid = int(cid_lo)
        pcap = src_lo == "pcap"
        if not pcap and (rate_lo > 1) != (rate_hi > 1):
            return None
        key = (cid, pcap, not pcap and rate_lo > 1)
        span = spans.get(key)
        if span is None:
            spans[key] = [first_lo, last_hi, first_hi, int(n)]
        else:
            span[0], span[1], span[2] = min(span[0], first_lo), max(span[1], last_hi), max(span[2], first_hi)
            span[3] += int(n)
    return [(*key, *span) for key, span in sorted(spans.items())]


def _root(con: duckdb.DuckDBPyConnection) -> Path | None:
    base = con.execute("SELECT current_setting('file_search_path')").fetchone()[0]
    return Path(base.split(",")[0]) if base else None


def pin_single_parts(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] = ("flows", "packets")) -> list[str]:
    """For each of `tables` held in exactly one part (one capture of one day: the case of the benches), a TEMP
    view of that name over that one file, for the length of a report (unpin() drops them). The catalog's view reads
    a glob that always names the empty part too, and DuckDB keeps a Parquet file's statistics only when it reads
    that file alone: over one file it folds `source = 'pcap'` to a constant where no flow is from packets, skips
    the time filter a window covering the file makes moot, and sums in 64 bits (protocol_mix on 10 M flows: 1.74
    -> 1.08 s of CPU, wannacry 4.38 -> 2.47; bench/README.md, s7). The same rows: lake_parts lists every
    published file. Left alone: a lake opened for its import (TEMP objects of that name), a table in several parts
    or in shared files (no statistics over two files). Returns the names pinned."""
    if not is_lake_flows(con, "main.flows"):  # (first: another engine's connection has no DuckDB settings)
        return []
    root = _root(con)
    if root is None:
        return []
    temps = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
                                       "SELECT view_name FROM duckdb_views() WHERE temporary").fetchall()}
    single = con.execute("SELECT table_name, min(path), count(*), count(*) FILTER (WHERE capture_id = 0) "
                         "FROM lake_parts WHERE rows > 0 GROUP BY table_name").fetchall()
    pinned = []
    for table_name, path, parts, shared in single:
        if table_name not in tables or parts != 1 or shared or table_name in temps:
            continue
        view, macro = _PINNED[table_name]
        literal = "'" + str(root / path).replace("'", "''") + "'"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM {macro}([{literal}])")
        pinned.append(view)
    return pinned


def unpin(con: duckdb.DuckDBPyConnection, pinned: list[str]) -> None:
    """Drop the TEMP views pin_single_parts made."""
    for view in pinned:
        con.execute(f"DROP VIEW IF EXISTS temp.{view}")


__all__ = ["flow_part_spans", "is_lake_flows", "pin_single_parts", "unpin"]
