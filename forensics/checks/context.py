"""The connection a check runs on: the report context (forensics.reports.context) plus the check tables.

Rows go in through bound parameters; no config value ever becomes SQL text.
"""

from __future__ import annotations

import duckdb

from forensics.checks.config import ChecksConfig
from forensics.config import CaseConfig
from forensics.reports.context import install_context
from forensics.resources import read_sql
from forensics.store.bulk_insert import temp_table

CHECK_CONTEXT_SQL = "checks/_context.sql"

_TABLES = {
    "_check_overrides": "chk VARCHAR, subnet VARCHAR, lo UHUGEINT, hi UHUGEINT, key VARCHAR, value DOUBLE",
    "_app_signatures": ("name VARCHAR, proto UTINYINT, len_lo INTEGER, len_hi INTEGER, src_lo UHUGEINT, "
                        "src_hi UHUGEINT, dst_lo UHUGEINT, dst_hi UHUGEINT, sport_lo INTEGER, sport_hi INTEGER, "
                        "dport_lo INTEGER, dport_hi INTEGER, port_lo INTEGER, port_hi INTEGER, flags_mask INTEGER, "
                        "flags_value INTEGER, per VARCHAR, bps DOUBLE, pps DOUBLE"),
}


def _fill(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    temp_table(con, table, _TABLES[table], rows)


def _pair(value: tuple[int, int] | None) -> tuple:
    return value if value is not None else (None, None)


def install_check_context(con: duckdb.DuckDBPyConnection, config: CaseConfig, checks: ChecksConfig) -> None:
    """Prepare `con` for the checks: config tables and macros of the reports, then queries/checks/_context.sql."""
    # DuckDB draws its progress bar on stdout for a statement over 2 s (the 2M-packet case's _check_rows), which
    # broke `check --json` when piped; the CLI shows its own progress.
    con.execute("SET enable_progress_bar = false")
    install_context(con, config)
    _fill(con, "_check_overrides", checks.overrides)
    _fill(con, "_app_signatures", [
        (s.name, s.proto, *_pair(s.length), *_pair(s.src), *_pair(s.dst), *_pair(s.src_port), *_pair(s.dst_port),
         *_pair(s.port), s.flags_mask, s.flags_value, s.per, s.bps, s.pps) for s in checks.signatures])
    con.execute(read_sql(CHECK_CONTEXT_SQL))
