"""`forensics serve`: GenieATM's report API and the browsable case over HTTP, read-only.

    source = CaseSource("case.duckdb", load_config(None, "case.duckdb"))
    app = create_app(source)            # an ASGI app (FastAPI); serve(source, "127.0.0.1", 8080) runs it

A renderer behind HTTP: requests are parsed into report options (genieatm.py), reports run through the reports
library on a read-only connection per request (caseaccess.py), answers are the JSON renderer's envelope or the
HTML renderer's pages (pages.py).
"""

from __future__ import annotations

import ipaddress
import socket
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


def check_bind(host: str, with_users: bool = False) -> None:
    """Refuse to listen beyond loopback without users: a case is evidence, and anyone on the network could read it."""
    if not with_users and not is_loopback(host):
        raise UsageError(f"--host {host}: beyond loopback the server needs users (--users FILE of bcrypt hashes, "
                         "htpasswd -B, or [serve] users in the case config); without them use --host 127.0.0.1 "
                         "(or ::1)")


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one, read it back with getsockname)."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: give a port from 1 to 65535 (0 picks a free one)")
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise UsageError(f"--host {host}: {exc.strerror or exc}; use 127.0.0.1 or ::1") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(f"--host {host} --port {port}: cannot listen ({exc.strerror or exc}); "
                         "choose another --port") from None
    return sock


def serve(source: CaseSource, host: str = "127.0.0.1", port: int = 8080, quiet: bool = False,
          users: dict[str, bytes] | None = None) -> None:
    """Run the server until interrupted (uvicorn, one process; queries run on worker threads).

    Prints one line to stderr once it listens: the URL (with the port chosen when --port is 0)."""
    import uvicorn

    check_bind(host, bool(users))
    source.open().close()  # fail now, with the case's own message, if it cannot be opened
    sock = listen(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    who = f"{len(users)} user(s), HTTP Basic" if users else "loopback only, no users needed"
    print(f"forensics: serving {source.db} read-only at http://{shown}:{bound}/ ({who})", file=sys.stderr,
          flush=True)
    config = uvicorn.Config(create_app(source, users), log_level="warning" if quiet else "info", access_log=not quiet)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["GENIEATM_PATHS", "CaseSource", "check_bind", "create_app", "is_loopback", "listen", "serve"]
