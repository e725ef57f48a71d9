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


def is_lake_flows(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `table` (a name as the report code passes it: `flows`, or the catalog-qualified main.flows) reads
    the lake's flows view: no TEMP `flows` shadows it (a report's scope restriction, an import's staged rows)."""
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
    base = con.execute("SELECT current_setting('file_search_path')").fetchone()[0]
    parts = con.execute("SELECT path, capture_id FROM lake_parts WHERE table_name = 'flows' AND rows > 0").fetchall()
    if not parts or not base:
        return [] if not parts else None
    root = Path(base.split(",")[0])
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


__all__ = ["flow_part_spans", "is_lake_flows"]
