"""The flows listing (`forensics flows`): queries/views/flows_line.sql with the command's WHERE, ORDER BY, LIMIT.

    sql, params = listing_sql(where=("ip_proto = $f0", {"f0": 6}), start=None, end=None, source=None,
                              sort="bytes", limit=10)
    case.con.execute(sql, params)

Only column names and fixed SQL pieces are composed here; every value (filter constants, times, source,
limit) is bound.
"""

from __future__ import annotations

import datetime as dt

from forensics.errors import UsageError
from forensics.resources import read_sql
from forensics.store.catalog_probe import persistent_objects

Condition = tuple[str, dict]
# --sort: nfdump's -O tstart / -O bytes / -O packets; ties keep the flow id order (import order).
SORTS = {
    "first": "first_ts, flow_id",
    "bytes": "bytes DESC, first_ts, flow_id",
    "packets": "packets DESC, first_ts, flow_id",
}


_FROM = "\nFROM flows\n"  # the line of views/flows_line.sql that names the flows


def listing_sql(where: Condition | None = None, start: dt.datetime | None = None, end: dt.datetime | None = None,
                source: str | None = None, sort: str = "first", limit: int | None = None) -> tuple[str, dict]:
    """The flows_line query restricted and ordered as asked: (sql, bound params).

    start/end select flows by first_ts in [start, end) (naive UTC), as reports do.
    """
    if sort not in SORTS:
        raise UsageError(f"--sort {sort!r}: use one of {', '.join(SORTS)}")
    conditions = []
    params: dict = {}
    if where is not None:
        conditions.append(f"({where[0]})")
        params.update(where[1])
    if start is not None:
        conditions.append("first_ts >= $_from_ts")
        params["_from_ts"] = start
    if end is not None:
        conditions.append("first_ts < $_to_ts")
        params["_to_ts"] = end
    if source is not None:
        conditions.append("source = $_source")
        params["_source"] = source
    sql = read_sql("views/flows_line.sql").rstrip().rstrip(";")
    where = ("\nWHERE " + " AND ".join(conditions)) if conditions else ""
    if limit is not None:
        # -c N: the N flows first, then the line's columns for those only. The projection (ip_text of two
        # addresses, app_of, the flow_app join) of every flow before a Top-N cost 20-28 s of CPU for
        # `--sort bytes -c 20` over 10 M flows, 0.04-0.06 s so (bench/README.md s9-lakecmds). The same rows: the
        # sort keys are the listing's own columns and end in the unique flow_id.
        if _FROM not in sql:
            raise RuntimeError(f"views/flows_line.sql: no {_FROM.strip()!r} line to select the flows in")
        chosen = f"SELECT * FROM flows{where}\nORDER BY {SORTS[sort]}\nLIMIT $_limit"
        sql = sql.replace(_FROM, f"\nFROM ({chosen}) flows\n", 1)
        where = ""
        params["_limit"] = limit
    sql += where + f"\nORDER BY {SORTS[sort]}"
    if limit is not None:
        sql += "\nLIMIT $_limit"
    return sql, params


def summary_sql(listing: str) -> str:
    """flows_summary.sql over the listed rows (the listing's params apply unchanged)."""
    return f"WITH listed AS (\n{listing}\n)\n" + read_sql("views/flows_summary.sql")


def ensure_flow_app(con: object) -> None:
    """A case made before flow_app, opened read-only, lacks the table: an empty TEMP one stands in (on this
    connection), so the listing and reports read such a case as one without labels. A writable open
    creates the real table (queries/schema/flow_app.sql); a re-import with --force fills it."""
    taken = persistent_objects(con)  # within a report run: from its one look at the catalog
    if taken is not None and "flow_app" in taken.tables:
        return
    found = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'flow_app'").fetchone()
    if not found[0]:
        con.execute("CREATE TEMP TABLE IF NOT EXISTS flow_app (capture_id INTEGER, flow_id BIGINT, app VARCHAR, "
                    "evidence VARCHAR, frame UINTEGER)")


def sources(con: object) -> list[str]:
    """The flow sources the case holds (pcap, netflow_v5, ...)."""
    return [r[0] for r in con.execute("SELECT DISTINCT source FROM flows ORDER BY 1").fetchall()]
