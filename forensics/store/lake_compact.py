"""Small captures of a lake case share Parquet files (docs/lake.md, "Small captures").

Each capture's rows go to parts of their own at import (packets/capture_id=N/day=D/). A capture with fewer rows
in a table than one row group (SMALL_ROWS) makes parts that are mostly footer: 10,000 small captures are 20,000
files, and the first query after opening the case reads every footer. Compaction rewrites the parts of small
captures, day by day, into shared files:

    shared/packets/day=YYYY-MM-DD/part-<token>-<k>.parquet   capture_id a column (INT32), rows sorted by
    shared/flows/day=YYYY-MM-DD/part-<token>-<k>.parquet     (capture_id, frame) / (capture_id, flow_id)

listed in lake_parts with capture_id 0 (several captures; the file's column says which). Captures that are not
small keep their own folders. Atomic as an import: the new files are written under _staging/, renamed into
shared/ inside the catalog transaction that swaps the lake_parts rows, and the old files deleted after COMMIT;
a kill -9 anywhere leaves files that lake_parts does not list, which the next open sweeps (forensics/store/lake.py).

    compact(case)             -> counts              every small capture's parts (and under-filled shared files)
    maybe_compact(case)       -> counts | None       the same, when more than AUTO_PARTS small parts wait
    drop_capture(con, root, cid) -> (doomed, fresh)  --force: shared files rewritten without one capture's rows
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from forensics.errors import UsageError
from forensics.store.flow_rollup import drop_orphans
from forensics.store.lake import rebuild_views, remove_files, sql_literal
from forensics.store.lake_layout import (
    DAY_COLUMN,
    ROW_GROUP_ROWS,
    SHARED,
    SHARED_SCHEMAS,
    STAGING,
    TABLES,
    write_part,
)

# A capture with fewer rows in a table than one row group gains nothing from files of its own: its rows are
# compacted. Captures at or above it keep packets/capture_id=N/ (and their row groups whole).
SMALL_ROWS = ROW_GROUP_ROWS
# Rows per shared file at most (8 row groups, about 20 MB of packets): a day of small captures in few files, and
# a compaction's memory bounded by one file's rows (about 150 bytes a packet in Arrow).
SHARED_ROWS = 8 * ROW_GROUP_ROWS
# A shared file under half full is merged again with the next compaction of its day.
UNDERFILLED_ROWS = SHARED_ROWS // 2
# An import compacts at its end when more small parts than this wait (bench/lake_many.py: see docs/lake.md).
AUTO_PARTS = 256
# Rows of one capture stay in capture order within a shared file.
SORT_COLUMN = {"packets": "frame", "flows": "flow_id"}


@dataclass
class _Input:
    rel: str
    capture_id: int | None  # None: a shared file already (its rows carry their capture ids)
    rows: int


def _root(case: object) -> Path:
    root = getattr(case, "lake_root", None)
    if root is None:
        raise UsageError(f"compact: {getattr(case, 'path', 'the case')} is a single-file case; compaction is for "
                         "lake cases (a folder: forensics convert --db CASE.duckdb makes one)")
    return root


_SMALL_PARTS = """
WITH small AS (
    SELECT table_name, capture_id FROM lake_parts
    WHERE capture_id <> 0 AND NOT starts_with(path, 'shared/')
    GROUP BY ALL HAVING sum(rows) < $small
)
SELECT p.table_name, p.day, p.path, p.capture_id, p.rows
FROM lake_parts p JOIN small USING (table_name, capture_id)
WHERE NOT starts_with(p.path, 'shared/')
UNION ALL
SELECT table_name, day, path, NULL, rows FROM lake_parts
WHERE starts_with(path, 'shared/') AND rows < $underfilled
ORDER BY 1, 2, 4 NULLS FIRST, 3
"""


def _plan(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[_Input]]:
    """(table, day) -> the parts to merge there: small captures' own parts, with the day's under-filled shared
    files when there is something to merge them with."""
    groups: dict[tuple[str, str], list[_Input]] = defaultdict(list)
    for table, day, rel, cid, rows in con.execute(_SMALL_PARTS, {"small": SMALL_ROWS,
                                                                "underfilled": UNDERFILLED_ROWS}).fetchall():
        groups[(table, str(day))].append(_Input(rel, None if cid is None else int(cid), int(rows)))
    return {key: inputs for key, inputs in groups.items()
            if any(i.capture_id is not None for i in inputs) or len(inputs) > 1}


def small_parts(con: duckdb.DuckDBPyConnection) -> int:
    """Parts of their own that small captures have (what compaction would merge)."""
    row = con.execute(f"SELECT count(*) FROM ({_SMALL_PARTS}) WHERE NOT starts_with(path, 'shared/')",
                      {"small": SMALL_ROWS, "underfilled": UNDERFILLED_ROWS}).fetchone()
    return int(row[0])


def _bins(inputs: list[_Input]) -> list[list[_Input]]:
    """Inputs in order, cut into runs of at most SHARED_ROWS rows (an input is never split)."""
    out: list[list[_Input]] = [[]]
    rows = 0
    for item in inputs:
        if out[-1] and rows + item.rows > SHARED_ROWS:
            out.append([])
            rows = 0
        out[-1].append(item)
        rows += item.rows
    return out


def _read(root: Path, table: str, item: _Input) -> pa.Table:
    """One input as a table of SHARED_SCHEMAS[table]."""
    import pyarrow.parquet as pq
    schema = SHARED_SCHEMAS[table]
    data = pq.ParquetFile(root / item.rel).read()
    for field in schema:  # a part written before a column existed (the flows' home bits): NULL there
        if field.name not in data.column_names and field.name != "capture_id":
            data = data.append_column(field.name, pa.nulls(len(data), field.type))
    if item.capture_id is not None:
        data = data.add_column(0, "capture_id", pa.array(np.full(len(data), item.capture_id, np.int32)))
    return pa.table([data.column(n).cast(schema.field(n).type) for n in schema.names], schema=schema)


def _ts_range(table: pa.Table, name: str) -> tuple[int, int]:
    import pyarrow.compute as pc
    us = pc.cast(table.column(DAY_COLUMN[name]), pa.int64())
    return int(pc.min(us).as_py()), int(pc.max(us).as_py())


def _list_part(con: duckdb.DuckDBPyConnection, rel: str, table: str, day: str, data: pa.Table, size: int) -> None:
    lo, hi = _ts_range(data, table)
    con.execute("INSERT INTO lake_parts VALUES ($p, $t, 0, $d::DATE, $n, $b, make_timestamp($lo), "
                "make_timestamp($hi))", {"p": rel, "t": table, "d": day, "n": len(data), "b": size, "lo": lo,
                                         "hi": hi})


def compact(case: object, progress: Callable[[int, int], None] | None = None) -> dict:
    """Merge the parts of every small capture (and under-filled shared files) into shared files, day by day, in
    one catalog transaction. Counts: parts merged, shared files written, rows moved, files before and after.
    `progress(parts_done, parts_total)` is called after each shared file is written."""
    root = _root(case)
    con: duckdb.DuckDBPyConnection = case.con  # type: ignore[attr-defined]
    started = time.perf_counter()
    files_before = _count_files(con)
    plan = _plan(con)
    total = sum(len(inputs) for inputs in plan.values())
    token = f"{os.getpid()}-compact-{uuid.uuid4().hex[:12]}"
    stage = root / STAGING / token
    written: list[tuple[str, str, str, pa.Table, int]] = []  # rel, table, day, data (ts column only), size
    merged: list[str] = []
    rows = 0
    try:
        for (table, day), inputs in sorted(plan.items()):
            for k, run in enumerate(_bins(inputs)):
                data = pa.concat_tables([_read(root, table, item) for item in run])
                data = data.sort_by([("capture_id", "ascending"), (SORT_COLUMN[table], "ascending")])
                rel = f"{SHARED}/{table}/day={day}/part-{token}-{k}.parquet"
                size = write_part(data, stage / rel)
                written.append((rel, table, day, data.select([DAY_COLUMN[table]]), size))
                merged += [item.rel for item in run]
                rows += len(data)
                if progress is not None:
                    progress(len(merged), total)
        _publish(con, root, stage, written, merged)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return {"parts_merged": len(merged), "shared_files": len(written), "rows": rows,
            "files_before": files_before, "files_after": _count_files(con),
            "seconds": round(time.perf_counter() - started, 3)}


def _publish(con: duckdb.DuckDBPyConnection, root: Path, stage: Path,
             written: list[tuple[str, str, str, pa.Table, int]], merged: list[str]) -> None:
    """Rename the new files into shared/, swap the lake_parts rows, COMMIT; then delete the merged files."""
    if not written:
        return
    placed: list[str] = []
    con.execute("BEGIN TRANSACTION")
    try:
        for rel, table, day, data, size in written:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(stage / rel, root / rel)
            placed.append(rel)
            _list_part(con, rel, table, day, data, size)
        con.execute("DELETE FROM lake_parts WHERE list_contains($p, path)", {"p": merged})
        drop_orphans(con)  # (a merged part's 5-minute rollup, had it one: the shared file is read as flows)
        rebuild_views(con, root)  # the views read the shared tree once it holds rows (lake.views_sql)
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        remove_files(root, placed)
        raise
    remove_files(root, merged)


def _count_files(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM lake_parts").fetchone()[0])


def auto_parts() -> int:
    """The small parts an import leaves uncompacted: $FORENSICS_COMPACT_PARTS (0: never compact), else AUTO_PARTS."""
    env = os.environ.get("FORENSICS_COMPACT_PARTS", "")
    if env.strip().isdigit():
        return int(env)
    if env.strip():
        raise UsageError(f"FORENSICS_COMPACT_PARTS={env!r}: give a whole number of parts (0: never compact)")
    return AUTO_PARTS


def maybe_compact(case: object, progress: Callable[[int, int], None] | None = None) -> dict | None:
    """compact() when the case is a lake with more than auto_parts() small parts waiting (the end of an import)."""
    if getattr(case, "lake_root", None) is None:
        return None
    limit = auto_parts()
    if limit == 0 or small_parts(case.con) <= limit:  # type: ignore[attr-defined]
        return None
    return compact(case, progress)


def drop_capture(con: duckdb.DuckDBPyConnection, root: Path, capture_id: int) -> tuple[list[str], list[str]]:
    """In the caller's transaction (import --force): rewrite the shared files holding rows of `capture_id`
    without them. Returns (files to delete after COMMIT, files written in place: to delete on ROLLBACK)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    doomed: list[str] = []
    fresh: list[str] = []
    for table in TABLES:
        shared = [r[0] for r in con.execute("SELECT path FROM lake_parts WHERE table_name = $t AND "
                                            "starts_with(path, 'shared/')", {"t": table}).fetchall()]
        if not shared:
            continue
        by_abs = {str(root / rel): rel for rel in shared}
        listed = "[" + ", ".join(sql_literal(p) for p in by_abs) + "]"
        hits = con.execute(f"SELECT DISTINCT filename FROM read_parquet({listed}, filename = true, "
                           "hive_partitioning = false) WHERE capture_id = $c", {"c": capture_id}).fetchall()
        for (filename,) in hits:
            rel = by_abs[filename]
            data = pq.ParquetFile(root / rel).read()
            kept = data.filter(pc.not_equal(data.column("capture_id"), pa.scalar(capture_id, pa.int32())))
            row = con.execute("DELETE FROM lake_parts WHERE path = $p RETURNING day", {"p": rel}).fetchone()
            doomed.append(rel)
            if len(kept):
                new_rel = (Path(rel).parent / f"part-{os.getpid()}-drop-{uuid.uuid4().hex[:12]}.parquet").as_posix()
                staged = root / STAGING / f"{os.getpid()}-drop-{uuid.uuid4().hex[:8]}.parquet"
                size = write_part(kept, staged)
                os.replace(staged, root / new_rel)
                fresh.append(new_rel)
                _list_part(con, new_rel, table, str(row[0]), kept, size)
    return doomed, fresh


__all__ = ["AUTO_PARTS", "SHARED_ROWS", "SMALL_ROWS", "compact", "drop_capture", "maybe_compact", "small_parts"]
