"""`forensics serve`: the report API and the browsable case on a loopback port."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from forensics.cli.options import DbOption, QuietFlag, db_path
from forensics.cli.report import ConfigOption, QueriesOption


def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (beyond 127.0.0.1 / ::1 only with "
                                                 "users: --users or the config's serve section).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0 picks a free one).")] = 8080,
    users: Annotated[Path | None, typer.Option("--users", help="Users file, name:bcrypt-hash a line (htpasswd "
                     "-B), added to the users of the case config's serve section; every request then needs one (HTTP "
                     "Basic). "
                     "Users are required beyond loopback.",
                     show_default=False)] = None,
    config: ConfigOption = None,
    queries: QueriesOption = None,
    quiet: QuietFlag = False,
) -> None:
    """Serve the case read-only: GenieATM's report API (/api/report/...), every report, alerts, captures, and
    the case's pages at /. OpenAPI at /openapi.json.

    Example: forensics serve --db case.duckdb --port 8080
    """
    from forensics.config import load_config
    from forensics.serve import CaseSource, check_bind, serve
    from forensics.serve.auth import server_users

    path = db_path(db)
    case_config = load_config(config, path)
    accounts = server_users(case_config, users) or None
    check_bind(host, bool(accounts))
    source = CaseSource(path, case_config, tuple(str(Path(q)) for q in queries or ()))
    try:
        serve(source, host, port, quiet, accounts)
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C / SIGTERM it stopped on, once it has stopped
        print("forensics: server stopped", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
