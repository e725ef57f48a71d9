"""`forensics sql`: run SQL on the case, read-only, with the report macros and config tables loaded."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import ConfigOption, CsvFlag, DbOption, JsonFlag, db_path
from forensics.cli.streaming import write_stream
from forensics.errors import UsageError

# SQL read from -f or stdin: far more than any hand-written query, small enough to never exhaust memory.
MAX_SQL_BYTES = 16 * 1024 * 1024


def _read_sql(query: str | None, sql_file: Path | None) -> str:
    if query is not None and sql_file is not None:
        raise UsageError("sql: give the SQL as an argument or with -f FILE, not both")
    if query is not None:
        return query
    if sql_file is not None:
        from forensics.config import regular_file

        regular_file(sql_file, "sql -f")
        try:
            return sql_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"sql -f: {sql_file}: cannot read: {exc}") from None
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("sql: give the SQL: forensics sql \"SELECT ...\", -f FILE, or pipe it on stdin")
    text = sys.stdin.read(MAX_SQL_BYTES + 1)
    if len(text) > MAX_SQL_BYTES:
        raise UsageError(f"sql: more than {MAX_SQL_BYTES // 2**20} MiB of SQL on stdin; put it in a file")
    return text


def sql_command(
    query: Annotated[str | None, typer.Argument(help="SQL to run (else -f FILE, else stdin).",
                                                show_default=False)] = None,
    sql_file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the SQL from this file.",
                                                  show_default=False)] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    csv_out: CsvFlag = False,
    json_out: JsonFlag = False,
) -> None:
    """Run SQL on the case (read-only) and print the rows as a table, CSV or JSON.

    The report macros and the config tables are loaded: ip_text(a), ipv4('10.1.2.3'), ip_in(a, lo, hi),
    time_bin(ts, secs), is_home(a), in_net(a, kind, name), proto_name(p), app_of(p, sp, dp), as_of(a, asn),
    if_name(i); _nets, _apps, _as_prefixes, _ifaces, _filters. With several statements, the last one's rows
    are printed. Nothing on disk can change: the case is read-only and file access is off (no COPY/ATTACH).

    Example: forensics sql "SELECT ip_text(src_ip) AS src, sum(bytes) AS b FROM flows GROUP BY 1 ORDER BY 2 DESC"
    Example: echo "SELECT count(*) FROM packets" | forensics sql --json
    """
    from forensics.config import load_config
    from forensics.reports.adhoc import run_sql
    from forensics.store import Case

    if csv_out and json_out:
        raise UsageError("sql: choose one of --csv and --json")
    text = _read_sql(query, sql_file)
    path = db_path(db)
    case_config = load_config(config, path)
    with Case.open(path, read_only=True) as case:
        result = run_sql(case, text, case_config)
        from forensics.render.rows import csv_lines, json_chunks, table_lines

        if csv_out:
            chunks = csv_lines(result.columns, result.batches())
        elif json_out:
            chunks = json_chunks(result.columns, result.batches())
        elif not result.columns:
            chunks = iter([f"ok ({result.statements} statement{'s' if result.statements > 1 else ''})\n"])
        else:
            chunks = (line + "\n" for line in table_lines(result.columns, result.batches()))
        write_stream(chunks)


def register(app: typer.Typer) -> None:
    app.command("sql")(sql_command)
