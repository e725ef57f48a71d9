"""What is in a case: captures, totals, protocol mix, link layer, flow sources (queries/info/*.sql)."""

from __future__ import annotations

from forensics.resources import read_sql
from forensics.store import Case

Condition = tuple[str, dict]


def _rows(case: Case, sql: str, params: dict | None = None) -> list[dict]:
    cur = case.con.execute(sql, params or {})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def _restrict(sql: str, table: str, cond: Condition | None) -> tuple[str, dict]:
    """Read `table` through a WHERE (a compiled filter: SQL over the table's columns, values bound)."""
    if cond is None:
        return sql, {}
    where, params = cond
    return sql.replace(f"FROM {table}", f"FROM (SELECT * FROM {table} WHERE {where}) AS {table}"), params


MAC_LIMIT = 20  # MAC addresses `info` lists (the busiest senders)
CHANGE_LIMIT = 50  # IP-to-MAC changes `info` lists (the earliest)


def case_info(case: Case, packet_filter: Condition | None = None, flow_filter: Condition | None = None,
              mac_limit: int = MAC_LIMIT, change_limit: int = CHANGE_LIMIT) -> dict:
    """Everything `forensics info` shows, as plain data; totals, protocol mix and the link-layer view
    restricted by the filters."""
    totals_sql, p1 = _restrict(read_sql("info/totals.sql"), "packets", packet_filter)
    totals_sql, p2 = _restrict(totals_sql, "flows", flow_filter)
    proto_sql, p3 = _restrict(read_sql("info/protocols.sql"), "packets", packet_filter)
    macs_sql, p4 = _restrict(read_sql("info/macs.sql"), "packets", packet_filter)
    changes_sql, p5 = _restrict(read_sql("info/ip_mac_changes.sql"), "packets", packet_filter)
    info = {
        "database": case.path,
        "totals": _rows(case, totals_sql, {**p1, **p2})[0],
        "captures": _rows(case, read_sql("info/captures.sql")),
        "protocols": _rows(case, proto_sql, p3),
        "macs": _rows(case, macs_sql, {**p4, "mac_limit": mac_limit}),
        "ip_mac_changes": _rows(case, changes_sql, {**p5, "change_limit": change_limit}),
        "rejects": _rows(case, "SELECT path, file_offset, reason FROM import_rejects ORDER BY rejected_at"),
    }
    try:
        from forensics.store.flow_sources import flow_source_summary
    except ImportError:
        info["flow_sources"] = []
    else:
        info["flow_sources"] = flow_source_summary(case.con)
    return info
