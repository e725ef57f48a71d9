"""Stored report runs: the report_runs and report_run_values tables (queries/schema/runs.sql)."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pyarrow as pa

from forensics.resources import read_sql
from forensics.store import retain as retained
from forensics.store.lake_stats import flow_source_pairs

_COLUMNS = ("name", "kind", "definition_path", "definition_sql", "definition_sha256", "request", "params",
            "config_sha256", "fingerprint", "fingerprint_sha256", "from_ts", "to_ts", "bin_secs", "computed_at",
            "forensics_version", "result")


def has_runs(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the case has the runs tables (a case made before them, opened read-only, has not)."""
    row = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                      "AND table_name IN ('report_runs', 'report_run_values')").fetchone()
    return row[0] == 2


def data_fingerprint(con: duckdb.DuckDBPyConnection, flow_sources: bool = True) -> dict:
    """What a report reads, as ids: every capture (id, sha256, packets, flow records), every exported flow
    source (importer, capture) and what retention removed. Re-importing, adding or removing a file, or pruning
    it, changes it. Without `flow_sources` (a scan of the flows of a single-file case: 0.06 s on 10 M flows),
    what changes whenever they change: they are the flows of the captures listed, as retention left them."""
    captures = con.execute("SELECT capture_id, sha256, packets, flow_records FROM captures ORDER BY capture_id"
                           ).fetchall()
    doc: dict = {"captures": [list(c) for c in captures]}
    if flow_sources:
        doc["flow_sources"] = [list(s) for s in _flow_sources(con)]
    pruned = retained.held(con)  # retention state: since when each capture's packets and flows are held
    if pruned:  # (absent when nothing was pruned, so runs stored before retention existed stay reusable)
        doc["retention"] = [[cid, str(p), None if f is None else str(f)] for cid, p, f in pruned]
    return doc


def _flow_sources(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """The (source, capture_id) pairs of the exported flows, ordered by capture and source. Each source's
    capture range first (a GROUP BY on the dictionary-coded source: 0.06 s on 10 M flows); only where a source
    spans several captures, the pairs themselves (a DISTINCT over two columns: 0.2 s, 2026-12-03). On a lake,
    the parts' footers answer first (lake_stats.flow_source_pairs)."""
    from_footers = flow_source_pairs(con)
    if from_footers is not None:
        return from_footers
    ranges = con.execute("SELECT source, min(capture_id), max(capture_id) FROM flows WHERE source <> 'pcap' "
                         "GROUP BY source").fetchall()
    if all(lo == hi for _, lo, hi in ranges):
        return sorted(((source, lo) for source, lo, _ in ranges), key=lambda r: (r[1], r[0]))
    return con.execute("SELECT DISTINCT source, capture_id FROM flows WHERE source <> 'pcap' "
                       "ORDER BY capture_id, source").fetchall()


def find_run(con: duckdb.DuckDBPyConnection, name: str, definition_sha256: str, request: str,
             config_sha256: str, fingerprint_sha256: str) -> tuple[int, dt.datetime, str] | None:
    """The newest stored run computed from the same definition, request, config and data, if any."""
    if not has_runs(con):
        return None
    return con.execute(
        "SELECT run_id, computed_at, result FROM report_runs WHERE name = $n AND definition_sha256 = $d "
        "AND request = $r AND config_sha256 = $c AND fingerprint_sha256 = $f ORDER BY run_id DESC LIMIT 1",
        {"n": name, "d": definition_sha256, "r": request, "c": config_sha256, "f": fingerprint_sha256},
    ).fetchone()


def save_run(con: duckdb.DuckDBPyConnection, run: dict, values: pa.Table) -> int:
    """Store one run and its values in one transaction (an interrupted store leaves no half run); its id."""
    con.execute("BEGIN TRANSACTION")
    try:
        run_id = con.execute("SELECT nextval('report_run_ids')").fetchone()[0]
        cols = ", ".join(_COLUMNS)
        marks = ", ".join(f"${c}" for c in _COLUMNS)
        con.execute(f"INSERT INTO report_runs (run_id, {cols}) VALUES ($run_id, {marks})",
                    {"run_id": run_id, **{c: run[c] for c in _COLUMNS}})
        con.register("_run_values", values)
        try:
            con.execute("INSERT INTO report_run_values SELECT $run_id, section, item, bin, measure, value "
                        "FROM _run_values", {"run_id": run_id})
        finally:
            con.unregister("_run_values")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return int(run_id)


def list_runs(con: duckdb.DuckDBPyConnection, name: str | None = None) -> list[dict]:
    """Stored runs (queries/runs/list.sql), oldest first."""
    if not has_runs(con):
        return []
    cursor = con.execute(read_sql("runs/list.sql"), {"name": name})
    cols = [d[0] for d in cursor.description]
    out = []
    for row in cursor.fetchall():
        doc = dict(zip(cols, row, strict=True))
        doc["params"] = json.loads(doc["params"])
        out.append(doc)
    return out


def run_result(con: duckdb.DuckDBPyConnection, run_id: int) -> tuple[str, dt.datetime] | None:
    """A stored run's result JSON and when it was computed."""
    if not has_runs(con):
        return None
    return con.execute("SELECT result, computed_at FROM report_runs WHERE run_id = $i", {"i": run_id}).fetchone()


def diff_runs(con: duckdb.DuckDBPyConnection, a: int, b: int) -> list[dict]:
    """Values that differ between runs a and b (queries/runs/diff.sql)."""
    cursor = con.execute(read_sql("runs/diff.sql"), {"a": a, "b": b})
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row, strict=True)) for row in cursor.fetchall()]
