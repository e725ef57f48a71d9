"""Reports that read the 5-minute rollups of exported flows (forensics/store/flow_rollup.py) in place of the flows.

A report whose header says `-- needs: rollup` counts only what a rollup row keeps (bytes, packets and flows per bin,
IP version, protocol and the two home bits) and reads rollup_traffic() (queries/reports/_context.sql) beside
traffic(). When it may (rollup_usable), install_rollup fills the TEMP table _rollup with the rollup rows made with
the home blocks the report runs with, and takes the flows they sum out of what the report's traffic() reads:
- a lake: the flows parts that have a rollup, when the parts' home bits are read (home_bits_usable); the pinned
  view of the parts with their bits keeps only their flows built from packets;
- a single-file case: the captures that have a rollup; flow_traffic() leaves out their exported flows
  (install_flow_traffic).
Each flow is counted once, from a rollup or from its row. Otherwise _rollup is empty and traffic() reads every flow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb

from forensics.config import CaseConfig
from forensics.reports.traffic import install_flow_traffic
from forensics.store.flow_rollup import ROLLUP_BIN_SECS
from forensics.store.home_bits import home_fingerprint, home_ranges
from forensics.store.lake_stats import HOME_VIEW, is_lake_flows, part_views

NEEDS_ROLLUP = "rollup"
_ROLLUP_COLUMNS = ("bin TIMESTAMP, ip_version UTINYINT, ip_proto UTINYINT, src_home BOOLEAN, dst_home BOOLEAN, "
                   "bytes UBIGINT, packets UBIGINT, flows UBIGINT")
_EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class Rolled:
    """What install_rollup read from rollups: lake parts (paths) or a single-file case's captures."""

    parts: list[str] = field(default_factory=list)
    captures: list[int] = field(default_factory=list)


def _aligned(t: dt.datetime) -> bool:
    return int((t - _EPOCH).total_seconds() * 1_000_000) % (ROLLUP_BIN_SECS * 1_000_000) == 0


def rollup_usable(needs: tuple[str, ...], start: dt.datetime, end: dt.datetime, bin_secs: int, scope: str,
                  filter_expr: str | None, basis: str) -> bool:
    """Whether the report may read rollups: it says `-- needs: rollup`, its bins and window are whole 5-minute
    bins, no scope or filter narrows the traffic, and exported flows count (--basis is not packets)."""
    return (NEEDS_ROLLUP in needs and scope == "any" and not filter_expr and basis != "packets"
            and bin_secs % ROLLUP_BIN_SECS == 0 and _aligned(start) and _aligned(end))


def install_rollup(con: duckdb.DuckDBPyConnection, usable: bool, config: CaseConfig | None = None,
                   home_bits: bool = False) -> Rolled:
    """TEMP table _rollup (rollup_traffic() reads it): when `usable`, the rollup rows made with `config`'s home
    blocks, and the flows they sum taken out of traffic() (module docstring; `home_bits`: the lake's flows are
    read with their parts' home bits); else empty. Returns what was read from rollups. (On another engine's
    connection, or a case from before flow_rollups: empty.)"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _rollup ({_ROLLUP_COLUMNS})")
    if not usable or config is None or not isinstance(con, duckdb.DuckDBPyConnection):
        return Rolled()
    fp = home_fingerprint(home_ranges((n.lo, n.hi) for n in config.home))
    lake = is_lake_flows(con, "main.flows")
    if lake and not home_bits:
        return Rolled()
    try:
        if lake:
            keys = [r[0] for r in con.execute(
                "SELECT DISTINCT r.path FROM flow_rollups r JOIN lake_parts p USING (path) "
                "WHERE p.table_name = 'flows' AND r.home_fp = $fp ORDER BY 1", {"fp": fp}).fetchall()]
        else:
            keys = [r[0] for r in con.execute(
                "SELECT DISTINCT capture_id FROM flow_rollups WHERE path IS NULL AND home_fp = $fp ORDER BY 1",
                {"fp": fp}).fetchall()]
    except duckdb.Error:  # (a case from before flow_rollups, opened read-only)
        return Rolled()
    if not keys:
        return Rolled()
    if lake:
        view = part_views(con, ("flows",), homes=True, homes_without=frozenset(keys)).get(HOME_VIEW)
        if view is None:
            return Rolled()
        con.execute(f"CREATE OR REPLACE TEMP VIEW {HOME_VIEW} AS {view}")
        rolled = Rolled(parts=keys)
        where = "list_contains($keys, path)"
    else:
        install_flow_traffic(con, False, keys)
        rolled = Rolled(captures=keys)
        where = "path IS NULL AND list_contains($keys, capture_id)"
    con.execute("INSERT INTO _rollup SELECT bin, ip_version, ip_proto, src_home, dst_home, bytes, packets, flows "
                f"FROM flow_rollups WHERE home_fp = $fp AND {where}", {"keys": keys, "fp": fp})
    return rolled


__all__ = ["NEEDS_ROLLUP", "Rolled", "install_rollup", "rollup_usable"]
