"""Retention on a lake case: prune_before with the signature of forensics/store/retain.py's, removing whole
Parquet parts where the layout allows (every row older than the cutoff) and rewriting the parts that straddle it.

Catalog changes (lake_parts) are made in the caller's transaction when one is open, else in one of its own.
A part's file is replaced or deleted only once that transaction has committed: with no caller transaction, here;
with one, by the caller's `case.finish_lake_commit()` after its COMMIT (a write-open of the case sweeps them too).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from forensics.errors import UsageError
from forensics.store.flow_rollup import drop_orphans
from forensics.store.lake import remove_files
from forensics.store.lake_layout import DAY_COLUMN, STAGING, write_part

PRUNABLE = ("packets", "flows")  # packets by their ts, flows by their first_ts (as retain.py)


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """Begin a transaction unless the caller has one open (two statements then share a transaction id);
    whether this call began it."""
    ids = [con.execute("SELECT txid_current()").fetchone()[0] for _ in range(2)]
    if ids[0] == ids[1]:
        return False
    con.execute("BEGIN TRANSACTION")
    return True


def prune_before(case: object, table: str, cutoff_ts: dt.datetime) -> int:
    """Remove the rows of `table` ('packets' or 'flows') older than `cutoff_ts` (packets: ts, flows: first_ts)
    from a lake case; the number of rows removed."""
    if table not in PRUNABLE:
        raise UsageError(f"prune_before: table {table!r}: use one of {', '.join(PRUNABLE)}")
    root: Path = case.lake_root  # type: ignore[attr-defined]
    con: duckdb.DuckDBPyConnection = case.con  # type: ignore[attr-defined]
    own = _begin(con)
    try:
        removed = 0
        doomed: list[str] = []
        fresh: list[str] = []  # parts written here: deleted again if the transaction rolls back
        whole = con.execute("DELETE FROM lake_parts WHERE table_name = $t AND max_ts < $c RETURNING path, rows",
                            {"t": table, "c": cutoff_ts}).fetchall()
        for path, rows in whole:
            doomed.append(path)
            removed += rows
        straddling = con.execute("SELECT path, capture_id, day FROM lake_parts WHERE table_name = $t "
                                 "AND min_ts < $c AND max_ts >= $c ORDER BY path",
                                 {"t": table, "c": cutoff_ts}).fetchall()
        for path, cid, day in straddling:
            gone, new_rel = _rewrite(con, root, table, path, cid, str(day), cutoff_ts)
            removed += gone
            doomed.append(path)
            fresh += [new_rel] if new_rel else []
        if table == "flows" and doomed:
            drop_orphans(con)  # the 5-minute rollups of the flows parts removed or rewritten
        if own:
            con.execute("COMMIT")
    except BaseException:
        if own:
            con.execute("ROLLBACK")
        remove_files(root, fresh)  # the rewritten parts' files were never committed: not left visible to globs
        raise
    if own:
        remove_files(root, doomed)
    else:
        case._doomed += doomed  # type: ignore[attr-defined]
        case._fresh += fresh  # type: ignore[attr-defined]  # the caller's ROLLBACK: case.abort_lake_commit()
    return removed


def _rewrite(con: duckdb.DuckDBPyConnection, root: Path, table: str, rel: str, cid: int, day: str,
             cutoff_ts: dt.datetime) -> tuple[int, str | None]:
    """Write the rows of part `rel` at or after the cutoff as a new part beside it, listed in lake_parts in
    place of the old one (whose file the caller deletes after COMMIT); the rows left out, and the new part."""
    data = pq.read_table(root / rel)
    column = DAY_COLUMN[table]
    keep = pc.greater_equal(data.column(column), pa.scalar(cutoff_ts, pa.timestamp("us")))
    kept = data.filter(keep)
    con.execute("DELETE FROM lake_parts WHERE path = $p", {"p": rel})
    new_rel = None
    if len(kept):
        folder = Path(rel).parent
        new_rel = (folder / f"part-pruned-{uuid.uuid4().hex[:12]}.parquet").as_posix()
        staged = root / STAGING / f"prune-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        size = write_part(kept, staged)
        os.replace(staged, root / new_rel)
        ts = pc.cast(kept.column(column), pa.int64())
        con.execute("INSERT INTO lake_parts VALUES ($p, $t, $cid, $day::DATE, $n, $b, make_timestamp($lo), "
                    "make_timestamp($hi))",
                    {"p": new_rel, "t": table, "cid": cid, "day": day, "n": len(kept), "b": size,
                     "lo": pc.min(ts).as_py(), "hi": pc.max(ts).as_py()})
    return len(data) - len(kept), new_rel
