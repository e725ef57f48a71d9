"""Scopes, config filter conditions and --filter expressions -> SQL fragments over `flows` with bound params.

A fragment is (sql_text, params): the text holds only column names, helper macros and `$name` placeholders
built here; every value is in `params`. `restrict_flows` applies fragments by creating a TEMP view `flows`
(values in session variables; a TEMP table copy on a lake) that shadows the case's `main.flows` for the length of
one report, so report SQL stays unchanged.
"""

from __future__ import annotations

import itertools
import re

import duckdb

from forensics.config import SCOPES, CaseConfig, parse_nets
from forensics.errors import UsageError
from forensics.store.lake_stats import part_views

Fragment = tuple[str, dict]
_COUNTER = itertools.count()
_SIDES = {"src": ("src_ip", "src_port", "src_as"), "dst": ("dst_ip", "dst_port", "dst_as")}
_FIELDS = {"vlan": "vlan", "in_if": "coalesce(in_if, iface)", "out_if": "out_if"}


def _p(params: dict, value: object) -> str:
    name = f"_s{next(_COUNTER)}"
    params[name] = value
    return f"${name}"


def _sides(side: str) -> list[tuple[str, str, str]]:
    return [_SIDES[side]] if side in _SIDES else [_SIDES["src"], _SIDES["dst"]]


def _net_test(col: str, name: str, config: CaseConfig, params: dict) -> str:
    if name.upper() == "HOME":
        return f"is_home({col})"
    for kind, table in (("subnetwork", config.subnetworks), ("group", config.subnetwork_groups),
                        ("farm", config.server_farms)):
        if name in table:
            return f"in_net({col}, '{kind}', {_p(params, name)})"
    net = parse_nets([name], f"condition 'ip in {name}'")[0]
    return f"({col} BETWEEN {_p(params, net.lo)}::UHUGEINT AND {_p(params, net.hi)}::UHUGEINT)"


def condition_sql(tree: tuple, config: CaseConfig, params: dict) -> str:
    """Compile a parsed condition tree (forensics.config.parse_conditions) to SQL; values go to `params`."""
    op = tree[0]
    if op in ("and", "or"):
        left, right = condition_sql(tree[1], config, params), condition_sql(tree[2], config, params)
        return f"({left} {op.upper()} {right})"
    if op == "not":
        return f"(NOT coalesce({condition_sql(tree[1], config, params)}, false))"
    if op == "ip":
        return "(" + " OR ".join(_net_test(s[0], tree[2], config, params) for s in _sides(tree[1])) + ")"
    if op == "app":
        if tree[2] not in config.applications:
            known = ", ".join(sorted(config.applications))
            raise UsageError(f"condition: no application {tree[2]!r} in the config (known: {known})")
        name = _p(params, tree[2])
        tests = [f"EXISTS (SELECT 1 FROM _apps ap WHERE ap.app = {name} AND ap.proto = ip_proto "
                 f"AND {s[1]} BETWEEN ap.port_lo AND ap.port_hi)" for s in _sides(tree[1])]
        return "(" + " OR ".join(tests) + ")"
    if op == "proto":
        return f"(ip_proto = {_p(params, tree[1])})"
    if op in ("port", "as"):
        idx = 1 if op == "port" else 2
        value = _p(params, tree[2])
        return "(" + " OR ".join(f"{s[idx]} = {value}" for s in _sides(tree[1])) + ")"
    if op == "field":
        return f"({_FIELDS[tree[1]]} = {_p(params, tree[2])})"
    raise UsageError(f"condition: unknown node {op!r}")


def scope_sql(scope: str, config: CaseConfig, params: dict) -> str:
    """SQL for a scope: any, home, boundary, subnetwork:NAME, farm:NAME, business, after_hours."""
    kind, _, name = (scope or "any").partition(":")
    if kind not in SCOPES:
        raise UsageError(f"scope {scope!r}: use one of {', '.join(SCOPES)} (subnetwork:NAME, farm:NAME)")
    boundary = "(in_if IN (SELECT ifindex FROM _ifaces WHERE boundary) " \
               "OR out_if IN (SELECT ifindex FROM _ifaces WHERE boundary))"
    if kind == "any":
        return "true"
    if kind == "home":
        homes = "(is_home(src_ip) OR is_home(dst_ip))"
        if any(i.boundary for i in config.interfaces):
            # exported flows with interfaces must cross a boundary; pcap flows (no in/out_if) go by address
            return f"({homes} AND ((in_if IS NULL AND out_if IS NULL) OR {boundary}))"
        return homes
    if kind == "boundary":
        return boundary
    if kind in ("subnetwork", "farm"):
        table = config.server_farms if kind == "farm" else {**config.subnetworks, **config.subnetwork_groups}
        if name not in table:
            raise UsageError(f"scope {scope!r}: the config has no {kind} called {name!r}")
        net_kind = "group" if name in config.subnetwork_groups and kind == "subnetwork" else kind
        value = _p(params, name)
        return f"(in_net(src_ip, '{net_kind}', {value}) OR in_net(dst_ip, '{net_kind}', {value}))"
    hours = config.business_hours
    # first_ts is UTC; the hours are local time in the config's IANA time zone (DuckDB's ICU applies DST)
    at = "first_ts" if hours.timezone == "UTC" else \
        f"timezone({_p(params, hours.timezone)}, first_ts AT TIME ZONE 'UTC')"
    inside = (f"(isodow({at}) - 1 IN (SELECT unnest({_p(params, list(hours.days))}::INTEGER[])) "
              f"AND hour({at}) * 60 + minute({at}) >= {_p(params, hours.start_min)} "
              f"AND hour({at}) * 60 + minute({at}) < {_p(params, hours.end_min)})")
    return inside if kind == "business" else f"(NOT {inside})"


def filter_fragment(name: str, config: CaseConfig) -> Fragment:
    """A config filter (scope + conditions) as one fragment."""
    if name not in config.filters:
        known = ", ".join(sorted(config.filters)) or "none defined"
        raise UsageError(f"filter {name!r} is not in the config (known: {known}); define it under [filters]")
    fdef = config.filters[name]
    params: dict = {}
    sql = scope_sql(fdef.scope, config, params)
    if fdef.tree is not None:
        sql = f"({sql} AND {condition_sql(fdef.tree, config, params)})"
    if fdef.tcpdump:
        from forensics.filters import compile_filter

        expr_sql, expr_params = compile_filter(fdef.tcpdump, table="flows", prefix=f"_t{next(_COUNTER)}_")
        sql = f"({sql} AND {expr_sql})"
        params.update(expr_params)
    return sql, params


def restrict_flows(con: duckdb.DuckDBPyConnection, fragments: list[Fragment]) -> bool:
    """Shadow `flows` with the rows every fragment keeps. False when nothing to restrict.

    On a single file, a TEMP view, not a copy: the fragments' values are bound into session variables (SET
    VARIABLE name = $name) and the view reads them with getvariable(), which DuckDB folds to constants, so a column
    test is pushed into the scan of each read. Copying the matching flows, all columns, into a TEMP table cost 2.8 s
    CPU of a 4.2 s top_ports --filter run on 10 M flows (issue 11, bench/README.md "top_ports (s7)"). On a lake, the
    same view over the flow parts read part by part (forensics.store.lake_stats.part_views) when they are few or
    large; else (many small parts) a copy.
    """
    fragments = [f for f in fragments if f[0] != "true"]
    _drop_shadow(con)
    if not fragments:
        return False
    params: dict = {}
    for _, p in fragments:
        params.update(p)
    where = restricted = " AND ".join(f"({sql})" for sql, _ in fragments)
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_catalog = $c "
                       "AND table_schema = 'main' AND table_name = 'flows'", {"c": catalog}).fetchone()
    source = f'"{catalog}".main.flows'
    if kind is None or kind[0] != "BASE TABLE":
        # a lake's flows are a view over Parquet. Read through the catalog's glob, every read rebuilds the
        # addresses before a scope's test without the parts' statistics, so a report reading the flows several
        # times cost more through a view (top_talkers --scope home on 10 M flows: 10.4 s CPU copied, 19.8 through
        # a view): the copy stays there. Read part by part (lake_stats.part_views: each part's statistics, IPv4
        # addresses from their low half) a view is cheaper than the copy (bench/README.md, s8-lakeread).
        parts = part_views(con, ("flows",)).get("flows")
        if parts is None:
            con.execute(f"CREATE TEMP TABLE flows AS SELECT * FROM main.flows WHERE {where}", params)
            return True
        source = f"({parts})"

    def variable(m: re.Match) -> str:
        name, cast = m.group(1), m.group(2) or ""
        if name not in params:
            return m.group(0)
        con.execute(f"SET VARIABLE {_VAR}{name} = ${name}{cast}", {name: params[name]})
        return f"getvariable('{_VAR}{name}'){cast}"

    where = re.sub(r"\$(\w+)((?:::\w+(?:\[\])*)?)", variable, where)
    try:
        con.execute(f"CREATE TEMP VIEW flows AS SELECT * FROM {source} WHERE {where}")
    except duckdb.Error:
        if source.startswith('"'):  # the single file's own table: the error is the fragment's
            raise
        _drop_shadow(con)  # (a part unreadable, views of an older version): the copy through the catalog's view
        con.execute(f"CREATE TEMP TABLE flows AS SELECT * FROM main.flows WHERE {restricted}", params)
    return True


_VAR = "forensics_restrict"  # the prefix of the variables restrict_flows sets (reset by cleanup)


def _drop_shadow(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the TEMP view (or table, from an older run) shadowing `flows`, and its variables."""
    # (duckdb_views() and DROP IF EXISTS: 1.1 ms, information_schema.tables alone 1.3; twice a report. No DROP
    # VIEW IF EXISTS tried first: on a table of that name it fails, which would abort a caller's transaction)
    view = con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = 'flows'").fetchone()[0]
    con.execute("DROP VIEW temp.flows" if view else "DROP TABLE IF EXISTS temp.flows")
    for (name,) in con.execute("SELECT name FROM duckdb_variables() WHERE starts_with(name, $p)",
                               {"p": _VAR}).fetchall():
        con.execute(f"RESET VARIABLE {name}")


def build_flow_filters(con: duckdb.DuckDBPyConnection, config: CaseConfig) -> None:
    """TEMP table _flow_filters(flow_id, name): the flows each config filter matches."""
    con.execute("CREATE OR REPLACE TEMP TABLE _flow_filters (flow_id BIGINT, name VARCHAR)")
    for name in config.filters:
        sql, params = filter_fragment(name, config)
        params["_fname"] = name
        con.execute(f"INSERT INTO _flow_filters SELECT flow_id, $_fname FROM flows WHERE {sql}", params)


def cleanup(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the shadowing TEMP view and tables after a report."""
    _drop_shadow(con)
    con.execute("DROP TABLE IF EXISTS temp._flow_filters")
