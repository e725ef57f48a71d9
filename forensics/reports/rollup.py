"""Reports that read the flows parts' 5-minute rollups (forensics/store/flow_rollup.py) in place of their flows.

A report whose header says `-- needs: rollup` counts only what a rollup row keeps (bytes, packets and flows per bin,
IP version, protocol and the two home bits) and reads rollup_traffic() (queries/reports/_context.sql) beside
traffic(). When it may (rollup_usable), install_rollup fills the TEMP table _rollup with the rollup rows of every
flows part that has them and takes those parts out of the flows the report's traffic() reads (the pinned view
of the parts with their home bits): each flow is counted once, from its part's rollup or from its row. Otherwise
_rollup is empty and traffic() reads every flow.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from forensics.store.flow_rollup import ROLLUP_BIN_SECS
from forensics.store.lake_stats import HOME_VIEW, part_views

NEEDS_ROLLUP = "rollup"
_ROLLUP_COLUMNS = ("bin TIMESTAMP, ip_version UTINYINT, ip_proto UTINYINT, src_home BOOLEAN, dst_home BOOLEAN, "
                   "bytes UBIGINT, packets UBIGINT, flows UBIGINT")
_EPOCH = dt.datetime(1970, 1, 1)


def _aligned(t: dt.datetime) -> bool:
    return int((t - _EPOCH).total_seconds() * 1_000_000) % (ROLLUP_BIN_SECS * 1_000_000) == 0


def rollup_usable(needs: tuple[str, ...], home_bits: bool, start: dt.datetime, end: dt.datetime, bin_secs: int,
                  scope: str, filter_expr: str | None, basis: str) -> bool:
    """Whether the report may read rollups: it says `-- needs: rollup`, the flows' home bits answer is_home for it
    (home_bits_usable: the rollups' bits were computed under the same home blocks), its bins and window are whole
    5-minute bins, no scope or filter narrows the traffic, and exported flows count (--basis is not packets)."""
    return (NEEDS_ROLLUP in needs and home_bits and scope == "any" and not filter_expr and basis != "packets"
            and bin_secs % ROLLUP_BIN_SECS == 0 and _aligned(start) and _aligned(end))


def install_rollup(con: duckdb.DuckDBPyConnection, usable: bool) -> list[str]:
    """TEMP table _rollup (rollup_traffic() reads it): the rollup rows of every flows part that has them when
    `usable`, and HOME_VIEW pinned again without those parts; else empty. Returns the parts read from their
    rollup. (On another engine's connection or a case from before flow_rollups: empty.)"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rollup ({_ROLLUP_COLUMNS})")
    if not usable:
        return []
    try:
        paths = [r[0] for r in con.execute(
            "SELECT DISTINCT r.path FROM flow_rollups r JOIN lake_parts p USING (path) "
            "WHERE p.table_name = 'flows' ORDER BY 1").fetchall()]
    except duckdb.Error:  # (a case from before flow_rollups, opened read-only)
        return []
    if not paths:
        return []
    view = part_views(con, ("flows",), homes=True, homes_without=frozenset(paths)).get(HOME_VIEW)
    if view is None:
        return []
    con.execute(f"CREATE OR REPLACE TEMP VIEW {HOME_VIEW} AS {view}")
    con.execute("INSERT INTO _rollup SELECT bin, ip_version, ip_proto, src_home, dst_home, bytes, packets, flows "
                "FROM flow_rollups WHERE list_contains($paths, path)", {"paths": paths})
    return paths


__all__ = ["NEEDS_ROLLUP", "install_rollup", "rollup_usable"]
