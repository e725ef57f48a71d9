"""Analyst SQL on a case (`forensics sql`): read-only, with the report macros and config tables loaded.

    with Case.open("case.duckdb", read_only=True) as case:
        result = run_sql(case, "SELECT ip_text(src_ip), sum(bytes) FROM flows WHERE is_home(src_ip) GROUP BY 1",
                         config)
        result.columns, result.batches()

The connection is prepared as a report's is (forensics.reports.context.install_context: the `_nets`,
`_apps`, `_as_prefixes`, `_ifaces`, `_filters` tables from the case config and the macros `is_home`,
`in_net`, `app_of`, `as_of`, `if_name`, `proto_name`, `flow_amount`; the case's own `ip_text`, `ipv4`,
`ip_in`, `time_bin`). The case is opened read-only, so INSERT/UPDATE/DELETE/CREATE on it fail, and
external access is switched off before the analyst's SQL runs: no file is read or written (COPY, ATTACH,
read_csv, INSTALL), so the command cannot change anything on disk. TEMP tables and SET still work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from forensics.config import CaseConfig
from forensics.errors import UsageError
from forensics.reports.context import forget_context, install_context
from forensics.store import lake

FETCH_ROWS = 2048


@dataclass
class SqlResult:
    """Column names and a cursor to stream the rows of the last statement."""

    columns: list[str]
    cursor: duckdb.DuckDBPyConnection | None
    statements: int

    def batches(self) -> Iterator[list[tuple]]:
        """The rows, FETCH_ROWS at a time (a statement that returns nothing gives none)."""
        if self.cursor is None:
            return
        while True:
            try:
                rows = self.cursor.fetchmany(FETCH_ROWS)
            except duckdb.Error as exc:  # errors can surface while rows stream (a cast in a late row)
                raise UsageError(f"sql: {_first_line(exc)}") from None
            if not rows:
                return
            yield rows


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def prepare_readonly(con: duckdb.DuckDBPyConnection, config: CaseConfig) -> None:
    """Load the report context on `con`, then switch off file access for the rest of the connection's life."""
    install_context(con, config)
    forget_context(con)  # the analyst's SQL may redefine its macros: a later report on `con` makes them again
    con.execute("SET enable_external_access = false")


def run_sql(case: object, text: str, config: CaseConfig) -> SqlResult:
    """Run `text` (one or more statements) on an open read-only Case; the last statement's rows are returned.

    A DuckDB error becomes a one-line UsageError with DuckDB's message (and which statement, when several).
    """
    con = case.con
    prepare_readonly(con, config)
    try:
        statements = con.extract_statements(text)
    except duckdb.Error as exc:
        raise UsageError(f"sql: {_first_line(exc)}") from None
    if not statements:
        raise UsageError("sql: no statement given; write e.g. forensics sql \"SELECT count(*) FROM flows\"")
    for number, statement in enumerate(statements, start=1):
        try:
            con.execute(statement)
        except duckdb.Error as exc:
            which = f"statement {number} of {len(statements)}: " if len(statements) > 1 else ""
            message = _first_line(exc)
            if getattr(case, "lake_root", None) is not None:  # a write on a lake's view: say so in our words
                message = lake.refused_write(statement.query, read_only=case.read_only) or message
            raise UsageError(f"sql: {which}{message}") from None
    if con.description is None:
        return SqlResult([], None, len(statements))
    return SqlResult([d[0] for d in con.description], con, len(statements))
