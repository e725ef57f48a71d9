"""Retention in the case database: the one place rows are deleted (prune_before), the retention log and the
per-5-minute summary tables (queries/schema/retention.sql).

Every deletion of packet rows or flow records by age goes through prune_before, so a store that keeps them
elsewhere (Parquet files) replaces this one function with the same signature.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from forensics.errors import UsageError
from forensics.resources import read_sql
from forensics.store.catalog_probe import persistent_objects

# What each prunable table is called in the case and which time decides a row's age: packets by their own time,
# flows by their start (the bin a flow counts in when its packets are gone).
PRUNABLE = {"packets": ("packet_rows", "ts"), "flows": ("flows", "first_ts")}
# The summary's bin, and the step every cutoff is rounded down to: a retention removes whole 5-minute bins.
SUMMARY_BIN_SECS = 300
TABLES = ("retention", "retention_captures", "traffic_summary")


def prune_before(case: object, table: str, cutoff_ts: dt.datetime) -> int:
    """Delete the rows of `table` ('packets' or 'flows') older than `cutoff_ts` (packets: ts, flows: first_ts),
    inside the caller's transaction, if one is open; the number of rows deleted. On a lake case the parts go
    (forensics/store/lake_prune.py); the caller calls case.finish_lake_commit() after its COMMIT."""
    if table not in PRUNABLE:
        raise UsageError(f"prune_before: table {table!r}: use one of {', '.join(PRUNABLE)}")
    if getattr(case, "lake_root", None) is not None:  # a case folder: drop or rewrite Parquet parts
        from forensics.store import lake_prune

        return lake_prune.prune_before(case, table, cutoff_ts)
    name, column = PRUNABLE[table]
    row = case.con.execute(f"DELETE FROM {name} WHERE {column} < $cutoff", {"cutoff": cutoff_ts}).fetchone()
    if table == "flows":
        from forensics.store.flow_rollup import drop_pruned_captures

        drop_pruned_captures(case.con, cutoff_ts)
    return int(row[0]) if row else 0


def has_retention(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the case has the retention tables (a case made before them, opened read-only, has not)."""
    # (duckdb_tables(): half the time of information_schema.tables; within a report run, from its one look)
    taken = persistent_objects(con)
    if taken is not None:
        return set(TABLES) <= taken.tables
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' "
                      "AND table_name IN ('retention', 'retention_captures', 'traffic_summary')").fetchone()
    return row[0] == len(TABLES)


def held(con: duckdb.DuckDBPyConnection) -> list[tuple[int, dt.datetime, dt.datetime | None]]:
    """(capture_id, packets_before, flows_before) of every capture a retention applied to
    (queries/retain/held.sql); empty when nothing was ever pruned."""
    if not has_retention(con):
        return []
    return [tuple(r) for r in con.execute(read_sql("retain/held.sql")).fetchall()]


def log(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The retention log, oldest first."""
    if not has_retention(con):
        return []
    cursor = con.execute("SELECT retention_id, level, cutoff, packet_rows, flow_rows, summary_rows, home, done_at "
                         "FROM retention ORDER BY retention_id")
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]


def newest_data(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The latest time of any data in the case (captures' last packet or flow end)."""
    return con.execute("SELECT max(last_ts) FROM captures").fetchone()[0]


def plan(con: duckdb.DuckDBPyConnection, packets_cutoff: dt.datetime,
         flows_cutoff: dt.datetime | None) -> tuple[list[dict], int]:
    """Per table, what a retention would remove (queries/retain/plan.sql), and the 5-minute bins losing rows."""
    params = {"packets_cutoff": packets_cutoff, "flows_cutoff": flows_cutoff}
    cursor = con.execute(read_sql("retain/plan.sql"), params)
    cols = [d[0] for d in cursor.description]
    rows = [dict(zip(cols, r, strict=True)) for r in cursor.fetchall()]
    bins = con.execute(read_sql("retain/bins.sql"), params).fetchone()[0]
    return rows, int(bins)


def table_bytes(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Approximate bytes `table` takes on disk: the storage blocks its columns use in the database file, or on a
    lake case (its views stand where the tables would be) the Parquet parts listed in lake_parts."""
    name = PRUNABLE[table][0]
    kind = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = $n AND NOT temporary",
                       {"n": name}).fetchone()[0]
    if not kind:
        row = con.execute("SELECT sum(bytes) FROM lake_parts WHERE table_name = $t", {"t": table}).fetchone()
        return int(row[0] or 0)
    block = con.execute("SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()"
                        ).fetchone()
    blocks = con.execute(f"SELECT count(DISTINCT b) FROM (SELECT block_id AS b FROM pragma_storage_info('{name}') "
                         "WHERE block_id >= 0 UNION ALL SELECT unnest(additional_block_ids) "
                         f"FROM pragma_storage_info('{name}'))").fetchone()[0]
    return int(blocks or 0) * int(block[0] if block else 262144)


def write_summary(con: duckdb.DuckDBPyConnection, level: str, cutoff: dt.datetime) -> int:
    """Insert the traffic_summary rows for the bins losing rows now (queries/retain/summary.sql); how many.
    Needs the report context on `con` (install_context, install_retention)."""
    row = con.execute(read_sql("retain/summary.sql"), {"level": level, "cutoff": cutoff}).fetchone()
    return int(row[0]) if row else 0


def write_log(con: duckdb.DuckDBPyConnection, level: str, cutoff: dt.datetime, packet_rows: dict[int, int],
              flow_rows: dict[int, int], summary_rows: int, home: str, done_at: dt.datetime) -> int:
    """Record one retention and the captures it applied to (every capture held now); its id."""
    rid = con.execute("SELECT nextval('retention_ids')").fetchone()[0]
    con.execute("INSERT INTO retention VALUES ($id, $level, $cutoff, $p, $f, $s, $home, $at)",
                {"id": rid, "level": level, "cutoff": cutoff, "p": sum(packet_rows.values()),
                 "f": sum(flow_rows.values()), "s": summary_rows, "home": home, "at": done_at})
    con.execute("INSERT INTO retention_captures SELECT $id, capture_id, 0, 0 FROM captures", {"id": rid})
    for cid in set(packet_rows) | set(flow_rows):
        con.execute("UPDATE retention_captures SET packet_rows = $p, flow_rows = $f "
                    "WHERE retention_id = $id AND capture_id = $c",
                    {"id": rid, "c": cid, "p": packet_rows.get(cid, 0), "f": flow_rows.get(cid, 0)})
    return int(rid)


def rows_by_capture(con: duckdb.DuckDBPyConnection, table: str, cutoff: dt.datetime) -> dict[int, int]:
    """{capture_id: rows} of `table` older than `cutoff` (what prune_before will delete)."""
    name, column = PRUNABLE[table]
    return dict(con.execute(f"SELECT capture_id, count(*) FROM {name} WHERE {column} < $c GROUP BY capture_id",
                            {"c": cutoff}).fetchall())
