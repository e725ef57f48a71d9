"""What is in a case: captures, totals, protocol mix, flow sources (queries/info/*.sql)."""

from __future__ import annotations

from forensics.resources import read_sql
from forensics.store import Case


def _rows(case: Case, sql: str, params: dict | None = None) -> list[dict]:
    cur = case.con.execute(sql, params or {})
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def case_info(case: Case) -> dict:
    """Everything `forensics info` shows, as plain data."""
    info = {
        "database": case.path,
        "totals": _rows(case, read_sql("info/totals.sql"))[0],
        "captures": _rows(case, read_sql("info/captures.sql")),
        "protocols": _rows(case, read_sql("info/protocols.sql")),
        "rejects": _rows(case, "SELECT path, file_offset, reason FROM import_rejects ORDER BY rejected_at"),
    }
    try:
        from forensics.store.flow_sources import flow_source_summary
    except ImportError:
        info["flow_sources"] = []
    else:
        info["flow_sources"] = flow_source_summary(case.con)
    return info
