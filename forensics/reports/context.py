"""The TEMP tables and macros a report query may use, created from the case config (see _context.sql).

Rows go in through bound parameters (forensics.store.bulk_insert); no config value ever becomes SQL text.

They are made once per connection and config: a TEMP table named after a fingerprint of the config rows and
_context.sql marks a connection that holds them (made in the same transaction, so a rollback takes the mark with
them), and a later report there only resets what a run changes (the packet bins, the union traffic(), the
retention macros). Installing the whole context took 31 ms of a 0.4 s report on 10 M flows, the reset takes 10
(`forensics demo` runs its reports on one connection, as does a script calling run_report in a loop).
"""

from __future__ import annotations

import functools
import hashlib

import duckdb

from forensics.config import CaseConfig
from forensics.reports.coverage import install_retention, install_summary
from forensics.reports.rollup import install_rollup
from forensics.resources import read_sql
from forensics.store.bulk_insert import temp_table
from forensics.store.flow_list import ensure_flow_app
from forensics.store.home_bits import home_sql

CONTEXT_SQL = "reports/_context.sql"

_TABLES = {
    "_nets": "kind VARCHAR, name VARCHAR, lo UHUGEINT, hi UHUGEINT, cidr VARCHAR",
    "_apps": "app VARCHAR, proto UTINYINT, port_lo USMALLINT, port_hi USMALLINT",
    "_as_prefixes": "lo UHUGEINT, hi UHUGEINT, asn UINTEGER, as_name VARCHAR",
    "_ifaces": "ifindex UINTEGER, name VARCHAR, boundary BOOLEAN",
    "_filters": "name VARCHAR, grp VARCHAR",
    "_packet_bins": "filter VARCHAR, bin TIMESTAMP, ip_version UTINYINT, src_ip UHUGEINT, dst_ip UHUGEINT, "
                    "ip_proto UTINYINT, src_port USMALLINT, dst_port USMALLINT, iface USMALLINT, vlan USMALLINT, "
                    "in_if UINTEGER, out_if UINTEGER, src_as UINTEGER, dst_as UINTEGER, tcp_flags USMALLINT, "
                    "handshake UTINYINT, packets UBIGINT, bytes UBIGINT",
}


def _fill(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    temp_table(con, table, _TABLES[table], rows)


_MARK = "_context_"  # the TEMP table _context_<fingerprint> marks a connection holding the context


def install_context(con: duckdb.DuckDBPyConnection, config: CaseConfig) -> None:
    """Create (or replace) the config TEMP tables and the helper macros on this connection; on a DuckDB connection
    that holds them for the same config already, only reset what a report run changes."""
    nets = [("home", "HOME", n.lo, n.hi, n.cidr) for n in config.home]
    for name, blocks in config.subnetworks.items():
        nets += [("subnetwork", name, n.lo, n.hi, n.cidr) for n in blocks]
    for group, members in config.subnetwork_groups.items():
        for member in members:
            nets += [("group", group, n.lo, n.hi, n.cidr) for n in config.subnetworks[member]]
    for name, blocks in config.server_farms.items():
        nets += [("farm", name, n.lo, n.hi, n.cidr) for n in blocks]
    filters = [(name, None) for name in config.filters]
    filters += [(member, group) for group, members in config.filter_groups.items() for member in members]
    context_sql = read_sql(CONTEXT_SQL)
    apps = [(app, p.proto, p.port_lo, p.port_hi) for app, sig in config.applications.items() for p in sig]
    prefixes = [(a.net.lo, a.net.hi, a.asn, a.name) for a in config.as_prefixes]
    ifaces = [(i.ifindex, i.name, i.boundary) for i in config.interfaces]
    mark = _MARK + hashlib.sha256(repr((nets, apps, prefixes, ifaces, filters, context_sql)).encode()).hexdigest()[:20]
    marks = _marks(con)
    if mark in marks:
        _fill(con, "_packet_bins", [])
        con.execute(_traffic_sql(context_sql))  # the union: a flows-only run redefined it (_traffic_flows_only.sql)
    else:
        _drop(con, marks)
        _fill(con, "_nets", nets)
        _fill(con, "_apps", apps)
        _fill(con, "_as_prefixes", prefixes)
        _fill(con, "_ifaces", ifaces)
        _fill(con, "_filters", filters)
        _fill(con, "_packet_bins", [])  # filled by forensics.reports.traffic once the window is known
        install_summary(con, False)  # _summary, filled by the runner when the report can use it
        install_rollup(con, False)  # _rollup, likewise (forensics/reports/rollup.py)
        con.execute(context_sql)
        _literal_home(con, config)
        _literal_as(con, config)
        if isinstance(con, duckdb.DuckDBPyConnection):
            con.execute(f"CREATE TEMP TABLE {mark} (made BOOLEAN)")
    ensure_flow_app(con)  # flows' application labels (empty in a case made before them)
    install_retention(con)  # what retention removed: packets_gone_before(c), _retained, _summary


def forget_context(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the mark, so that the next install_context on `con` makes the whole context again (before SQL that may
    redefine its macros runs there: `forensics sql`)."""
    _drop(con, _marks(con))


def _marks(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marks on `con` (none on another engine's connection: it always gets the whole context)."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return []
    return [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary "
                                      "AND starts_with(table_name, $p)", {"p": _MARK}).fetchall()]


def _drop(con: duckdb.DuckDBPyConnection, marks: list[str]) -> None:
    for name in marks:
        con.execute(f'DROP TABLE IF EXISTS temp."{name}"')


@functools.lru_cache(maxsize=4)
def _traffic_sql(context_sql: str) -> str:
    """The statement of `context_sql` (_context.sql) that defines the union traffic()."""
    head = "CREATE OR REPLACE TEMP MACRO traffic("
    start = context_sql.index(head)
    return context_sql[start:context_sql.index(";", start) + 1]


def _literal_home(con: duckdb.DuckDBPyConnection, config: CaseConfig) -> None:
    """is_home and home_broadcast with the home blocks as literal ranges (see _context.sql for why).

    Only integers from the parsed config (ipaddress-validated CIDR bounds, formatted by int()) reach the SQL
    text; DuckDB takes no bound parameters in a macro body.
    """
    blocks = [(int(n.lo), int(n.hi)) for n in config.home]
    con.execute(f"CREATE OR REPLACE TEMP MACRO is_home(a) AS {home_sql('a', blocks)}")
    ends = [hi for lo, hi in blocks if hi >> 32 == 0xFFFF and hi - lo >= 3]
    tests = " OR ".join(f"a = CAST({hi} AS UHUGEINT)" for hi in ends)
    con.execute(f"CREATE OR REPLACE TEMP MACRO home_broadcast(a) AS coalesce({tests or 'false'}, false)")


# Up to this many configured AS prefixes, as_of tests them as literal ranges; beyond, the lookup subquery stays.
LITERAL_AS_PREFIXES = 64


def _literal_as(con: duckdb.DuckDBPyConnection, config: CaseConfig) -> None:
    """as_of with the configured AS prefixes as literal ranges, most specific first (the lookup of _context.sql is
    a correlated subquery per row: 9.6 s of CPU for origin_as on 10 M flows, with no prefix configured).

    Only integers from the parsed config (CIDR bounds and AS numbers, formatted by int()) reach the SQL text.
    """
    prefixes = sorted(config.as_prefixes, key=lambda a: (int(a.net.hi) - int(a.net.lo), int(a.asn)))
    if len(prefixes) > LITERAL_AS_PREFIXES:
        return
    arms = " ".join(f"WHEN a BETWEEN CAST({int(a.net.lo)} AS UHUGEINT) AND CAST({int(a.net.hi)} AS UHUGEINT) "
                    f"THEN CAST({int(a.asn)} AS UINTEGER)" for a in prefixes)
    lookup = f"CASE {arms} END" if arms else "CAST(NULL AS UINTEGER)"
    con.execute(f"CREATE OR REPLACE TEMP MACRO as_of(a, asn) AS coalesce(NULLIF(asn, 0), {lookup})")
