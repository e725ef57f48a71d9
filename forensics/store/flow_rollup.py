"""The 5-minute rollup of a lake's large flows parts of exported flows (catalog table flow_rollups).

A report that counts only what the rollup keeps (bytes, packets and flows per bin, IP version, protocol and home
bits: `-- needs: rollup`, protocol_mix) reads a part's rollup rows in place of its flows when its bins are whole
multiples of 5 minutes and nothing narrows the traffic (forensics/reports/rollup.py). The rows are those
flow_traffic() gives for the part's flows, summed: the answer is the same, to the last byte, and a 10 M-flow part
is a few thousand rows to add instead of 10 M to read and group (issue 11: protocol_mix against nfdump -s proto).

Written at publish, in the file's transaction (queries/derive/flow_rollup.sql), for a part that
- holds at least ROLLUP_MIN_ROWS flows (a small part is as quick to read as its rollup),
- holds exported flows (its footer's min/max of `source` are not both 'pcap': a capture's flows built from packets
  are left alone, whose bytes come from the packets while those are held, at the cost of reading a footer), and
- carries its home bits with no NULL (written under the case's home blocks: flow_home_bits).
The rollup sums the part's exported flows only; a report reading it still reads the part's flows built from
packets (a capture holding NetFlow datagrams has both in one part).
Keyed by the part's path: a part rewritten by retention or compaction is a new file without a rollup (read as
flows), and the rows of a part no longer in lake_parts are never read (drop_orphans removes them).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from forensics.resources import read_sql

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


def write_rollups(con: duckdb.DuckDBPyConnection, root: Path, parts: list[tuple[str, int]]) -> int:
    """The rollup rows of each published flows part (relative path, capture id) that is a candidate; the number
    of parts rolled up. In the caller's transaction."""
    from forensics.store.lake import sql_literal

    done = 0
    for rel, capture_id in parts:
        path = root / rel
        if not rollup_candidate(path):
            continue
        part = f"read_parquet({sql_literal(str(path))})"
        con.execute(read_sql("derive/flow_rollup.sql").replace("{part}", part),
                    {"path": rel, "capture_id": capture_id}).fetchall()
        done += 1
    return done


def drop_orphans(con: duckdb.DuckDBPyConnection) -> None:
    """Remove the rollup rows of parts no longer listed in lake_parts (after retention or compaction removed or
    rewrote them), in the caller's transaction."""
    con.execute("DELETE FROM flow_rollups WHERE path NOT IN (SELECT path FROM lake_parts)")


__all__ = ["ROLLUP_BIN_SECS", "ROLLUP_MIN_ROWS", "drop_orphans", "rollup_candidate", "write_rollups"]
