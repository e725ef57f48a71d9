"""`forensics serve`: GenieATM's report API and the browsable case over HTTP, read-only.

    source = CaseSource("case.duckdb", load_config(None, "case.duckdb"))
    app = create_app(source)            # an ASGI app (FastAPI); serve(source, "127.0.0.1", 8080) runs it

A renderer behind HTTP: requests are parsed into report options (genieatm.py), reports run through the reports
library on a read-only connection per request (caseaccess.py), answers are the JSON renderer's envelope or the
HTML renderer's pages (pages.py).
"""

from __future__ import annotations

import ipaddress
import sys

from forensics.errors import UsageError
from forensics.serve.app import GENIEATM_PATHS, create_app
from forensics.serve.caseaccess import CaseSource


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or 'localhost') only listens on this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str) -> None:
    """Refuse to listen beyond loopback: the server has no authentication yet, and a case is evidence."""
    if not is_loopback(host):
        raise UsageError(f"--host {host}: the server has no authentication yet, so it listens on loopback only; "
                         "use --host 127.0.0.1 (or ::1) and reach it through an SSH tunnel")


def serve(source: CaseSource, host: str = "127.0.0.1", port: int = 8080, quiet: bool = False) -> None:
    """Run the server until interrupted (uvicorn, one process; queries run on worker threads)."""
    import uvicorn

    check_bind(host)
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: give a port from 1 to 65535 (0 picks a free one)")
    source.open().close()  # fail now, with the case's own message, if it cannot be opened
    if not quiet:
        print(f"forensics: serving {source.db} read-only on http://{host}:{port}/ (loopback only, no users needed)",
              file=sys.stderr)
    uvicorn.run(create_app(source), host=host, port=port, log_level="warning" if quiet else "info",
                access_log=not quiet)


__all__ = ["GENIEATM_PATHS", "CaseSource", "check_bind", "create_app", "is_loopback", "serve"]
