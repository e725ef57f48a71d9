"""The 5-minute rollups of exported flows (catalog table flow_rollups): one per large flows part of a lake, one per
capture with many exported flows in a single-file case.

A report that counts only what the rollup keeps (bytes, packets and flows per bin, IP version, protocol and home
bits: `-- needs: rollup`, protocol_mix) reads the rollup rows in place of those flows when its bins are whole
multiples of 5 minutes, nothing narrows the traffic and it runs with the home blocks the rollup was made with
(forensics/reports/rollup.py). The rows are those flow_traffic() gives for the flows, summed: the answer is the
same, to the last byte, and 10 M flows are a few thousand rows to add instead of 10 M to read and group (issue
11: protocol_mix against nfdump -s proto).

Written in the file's import transaction (queries/derive/flow_rollup.sql), of the exported flows only (flows built
from packets count their packets while those are held: a report reads them as rows):
- a lake: when a flows part is published that holds at least ROLLUP_MIN_ROWS rows, exported flows among them (its
  footer's min/max of `source` are not both 'pcap': a capture of packets only costs one footer read) and its home
  bits with no NULL. Keyed by the part's path: a part rewritten by retention or compaction is a new file without
  a rollup (read as flows), and drop_orphans removes the rows of a part no longer listed.
- a single-file case: when a capture's import stored at least ROLLUP_MIN_ROWS exported flow records; the home test
  is made on the addresses with the import's home blocks. Retention that removes flows drops the rollups of the
  captures it touches (drop_pruned_captures); those are read as rows after.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from forensics.resources import read_sql
from forensics.store.home_bits import home_fingerprint, home_sql

ROLLUP_BIN_SECS = 300
ROLLUP_MIN_ROWS = 100_000


def rollup_candidate(path: Path) -> bool:
    """Whether the flows part at `path` gets a rollup (module docstring), from its Parquet footer alone."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException, ValueError):
        return False
    if meta.num_rows < ROLLUP_MIN_ROWS:
        return False
    names = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    if not {"source", "src_home", "dst_home"} <= names.keys():
        return False
    exported = False  # a flow not built from packets, as far as the footer tells
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        source = group.column(names["source"]).statistics
        if source is None or not source.has_min_max or source.null_count:
            exported = True
        elif (source.min, source.max) not in (("pcap", "pcap"), (b"pcap", b"pcap")):
            exported = True
        for home in ("src_home", "dst_home"):
            stats = group.column(names[home]).statistics
            if stats is None or stats.null_count is None or stats.null_count:
                return False
    return exported


def _insert(con: duckdb.DuckDBPyConnection, flows: str, src_home: str, dst_home: str, path: str | None,
            capture_id: int, home: tuple[tuple[int, int], ...]) -> None:
    sql = read_sql("derive/flow_rollup.sql")
    for key, value in (("{flows}", flows), ("{src_home}", src_home), ("{dst_home}", dst_home)):
        sql = sql.replace(key, value)
    con.execute(sql, {"path": path, "capture_id": capture_id, "home_fp": home_fingerprint(home)}).fetchall()


def write_rollups(con: duckdb.DuckDBPyConnection, root: Path, parts: list[tuple[str, int]],
                  home: tuple[tuple[int, int], ...]) -> int:
    """The rollup rows of each published flows part (relative path, capture id) of a lake that is a candidate,
    whose home bits were computed from `home`; the number of parts rolled up. In the caller's transaction."""
    from forensics.store.lake import sql_literal

    done = 0
    for rel, capture_id in parts:
        path = root / rel
        if not rollup_candidate(path):
            continue
        _insert(con, f"read_parquet({sql_literal(str(path))})", "f.src_home", "f.dst_home", rel, capture_id, home)
        done += 1
    return done


def write_capture_rollup(con: duckdb.DuckDBPyConnection, capture_id: int, exported: int,
                         home: tuple[tuple[int, int], ...]) -> bool:
    """A single-file case: the rollup of capture `capture_id`'s exported flows in the flows table (`exported` of
    them stored), in the caller's transaction, when there are at least ROLLUP_MIN_ROWS; whether it was written."""
    if exported < ROLLUP_MIN_ROWS:
        return False
    flows = f"(SELECT * FROM flows WHERE capture_id = {int(capture_id)})"
    _insert(con, flows, home_sql("f.src_ip", home), home_sql("f.dst_ip", home), None, capture_id, home)
    return True


def drop_pruned_captures(con: duckdb.DuckDBPyConnection, cutoff_ts: object) -> None:
    """A single-file case after flows before `cutoff_ts` were deleted: the rollups of the captures that had
    exported flows starting in a bin before it go (their rows are read instead), in the caller's transaction."""
    con.execute("DELETE FROM flow_rollups WHERE path IS NULL AND capture_id IN "
                "(SELECT capture_id FROM flow_rollups WHERE path IS NULL AND bin < $c)", {"c": cutoff_ts})


def drop_orphans(con: duckdb.DuckDBPyConnection) -> None:
    """A lake: remove the rollup rows of parts no longer listed in lake_parts (after retention or compaction
    removed or rewrote them), in the caller's transaction."""
    con.execute("DELETE FROM flow_rollups WHERE path NOT IN (SELECT path FROM lake_parts)")


__all__ = ["ROLLUP_BIN_SECS", "ROLLUP_MIN_ROWS", "drop_orphans", "drop_pruned_captures", "rollup_candidate",
           "write_capture_rollup", "write_rollups"]
