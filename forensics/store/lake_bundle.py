"""A bundle: one input file imported on its own, by a worker process or a Spark task, into a private lake case
under the case's _staging/ (its own catalog and published parts), then published into the case by the process
that holds the catalog, in one transaction (docs/lake.md, "Parallel import").

    sha = bundle_sha256(bundle, capture_id)            # what the worker stored, to settle duplicates first
    publish_bundle(case, bundle, from_id=7, to_id=6)    # rows and parts become capture 6's, or nothing does

The worker imported under a capture id guessed in advance (the next free id plus the files before it); when
files before it were not stored (rejected, duplicates) the id taken at publish is smaller. Capture ids live in
the catalog rows (capture_id columns), in the part folder names (capture_id=N/) and in flow ids (capture_id *
2^32 + n, in the flow parts and in flow_app): publishing under another id renames the packet parts, rewrites
the flow parts with their flow ids shifted, and shifts both columns in the rows copied.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from forensics.errors import UsageError
from forensics.store import lake
from forensics.store.bulk_insert import insert_rows
from forensics.store.lake_layout import CATALOG, part_path, write_part

_ALIAS = "forensics_bundle"
# Catalog tables a bundle never copies: its schema version, and lake_parts (rewritten with the parts it lists).
_NOT_COPIED = {"schema_version", "lake_parts"}


def bundle_sha256(bundle: Path, capture_id: int) -> str | None:
    """The sha256 of the capture a bundle stored (None: the file was not stored, e.g. rejected whole)."""
    catalog = bundle / CATALOG
    if not catalog.exists():
        return None
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        row = con.execute("SELECT sha256 FROM captures WHERE capture_id = $c", {"c": capture_id}).fetchone()
    finally:
        con.close()
    return str(row[0]) if row else None


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = $d AND schema_name = 'main' "
        "AND table_name = $t ORDER BY column_index", {"d": _ALIAS, "t": table}).fetchall()]


def _copy_rows(con: duckdb.DuckDBPyConnection, delta: int) -> None:
    """Every catalog row of the bundle into the case's tables, capture and flow ids shifted by `delta` captures."""
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = $d AND schema_name = 'main' "
        "ORDER BY table_name", {"d": _ALIAS}).fetchall()]
    for table in tables:
        if table in _NOT_COPIED:
            continue
        if not con.execute(f'SELECT EXISTS (SELECT 1 FROM {_ALIAS}.main."{table}")').fetchone()[0]:
            continue
        cols = _columns(con, table)
        if "capture_id" not in cols:
            raise UsageError(f"import bundle: table {table} holds rows not keyed by capture_id; "
                             "import these files with --jobs 1")
        exprs = []
        for c in cols:
            if c == "capture_id":
                exprs.append(f'"{c}" + {delta}')
            elif c == "flow_id":
                exprs.append(f'"{c}" + {delta}::BIGINT * 4294967296')
            else:
                exprs.append(f'"{c}"')
        names = ", ".join(f'"{c}"' for c in cols)
        con.execute(f'INSERT INTO main."{table}" ({names}) SELECT {", ".join(exprs)} '
                    f'FROM {_ALIAS}.main."{table}"').fetchall()


def _shift_flow_ids(src: Path, dst: Path, delta: int) -> int:
    """A flow part rewritten with its flow ids moved `delta` captures along; returns the new file's size."""
    table = pq.read_table(src)
    shifted = pc.add(table.column("flow_id"), pa.scalar(delta << 32, pa.int64()))
    table = table.set_column(table.schema.get_field_index("flow_id"), "flow_id", shifted)
    size = write_part(table, dst)
    src.unlink(missing_ok=True)
    return size


def _listed(con: duckdb.DuckDBPyConnection, rels: list[str]) -> bool:
    if not rels:
        return False
    try:
        return bool(con.execute("SELECT count(*) FROM lake_parts WHERE path = $p", {"p": rels[0]}).fetchone()[0])
    except duckdb.Error:
        return False


def publish_bundle(con: duckdb.DuckDBPyConnection, root: Path, bundle: Path, from_id: int, to_id: int) -> None:
    """One transaction on `con` (the case's catalog): the bundle's catalog rows and parts become capture
    `to_id`'s. On any failure (an interrupt included) it rolls back and the files already moved go: the case
    is as before. A kill between the moves and COMMIT leaves files lake_parts does not list: swept on open."""
    delta = to_id - from_id
    con.execute(f"ATTACH {lake.sql_literal(str(bundle / CATALOG))} AS {_ALIAS} (READ_ONLY)")
    moved: list[str] = []
    committed = False
    try:
        parts = con.execute(f"SELECT path, table_name, day, rows, min_ts, max_ts FROM {_ALIAS}.main.lake_parts "
                            "ORDER BY path").fetchall()
        con.execute("BEGIN TRANSACTION")
        try:
            _copy_rows(con, delta)
            rows = []
            for rel, table_name, day, nrows, lo, hi in parts:
                new_rel = part_path(table_name, to_id, str(day), Path(rel).name)
                src, dst = bundle / rel, root / new_rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                moved.append(new_rel)
                if delta and table_name == "flows":
                    size = _shift_flow_ids(src, dst, delta)
                else:
                    os.replace(src, dst)
                    size = dst.stat().st_size
                rows.append((new_rel, table_name, to_id, day, nrows, size, lo, hi))
            insert_rows(con, "lake_parts", rows)
            con.execute("COMMIT")
            committed = True
        except BaseException:
            if not committed:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
                if not _listed(con, moved):  # a signal can land after COMMIT returned: then the files stay
                    lake.remove_files(root, moved)
            raise
    finally:
        try:
            con.execute(f"DETACH {_ALIAS}")
        except duckdb.Error:
            pass


__all__ = ["bundle_sha256", "publish_bundle"]
