"""HTTP Basic authentication against bcrypt hashes: a users file (Apache's `htpasswd -B` format) and/or the
case config's [serve] section.

    # forensics serve --users users.htpasswd
    alice:$2y$12$...            # htpasswd -B -c users.htpasswd alice   (or bcrypt.hashpw in Python)
    # forensics.toml
    [serve]
    users_file = "users.htpasswd"
    [serve.users]
    bob = "$2b$12$..."

The config's summary (copied into every report's JSON) counts the users but never carries a hash.
Plain-text or other hash kinds are refused when the file or config is read. A checked password is
remembered (by its SHA-256, in memory) so that bcrypt's deliberate slowness
is paid once per user and password, not on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path

from forensics.config import CaseConfig
from forensics.errors import UsageError

BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
# Largest users file read (a line per user).
MAX_USERS_BYTES = 1 << 20
REALM = "forensics"


def load_users(path: str | Path) -> dict[str, bytes]:
    """user -> bcrypt hash, from `name:hash` lines ('#' comments and blank lines skipped)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--users {path}: not a file; write one line name:bcrypt-hash per user (htpasswd -B)")
    if path.stat().st_size > MAX_USERS_BYTES:
        raise UsageError(f"--users {path}: over {MAX_USERS_BYTES:,} bytes; is it the right file?")
    users: dict[str, bytes] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, sep, digest = text.partition(":")
        if not sep or not name or ":" in name:
            raise UsageError(f"{path}:{number}: write name:bcrypt-hash (htpasswd -B)")
        if not digest.startswith(BCRYPT_PREFIXES) or len(digest) != 60:
            raise UsageError(f"{path}:{number}: user {name}: not a bcrypt hash (plain text and other hashes are "
                             "refused); make one with htpasswd -B")
        users[name] = digest.encode("ascii", errors="replace")
    if not users:
        raise UsageError(f"--users {path}: no users in it")
    return users


def server_users(config: CaseConfig, users_path: str | Path | None = None) -> dict[str, bytes]:
    """Every user the server accepts: the config's users_file, then its [serve.users], then --users FILE
    (a later source wins for a name given twice). Empty when none of them names a user."""
    users: dict[str, bytes] = {}
    if config.serve_users_file:
        users.update(load_users(config.serve_users_file))
    users.update({name: digest.encode("ascii") for name, digest in config.serve_users.items()})
    if users_path is not None:
        users.update(load_users(users_path))
    return users


class BasicAuth:
    """ASGI middleware: every HTTP request needs a user of the file and its password, else 401."""

    def __init__(self, app: object, users: dict[str, bytes]) -> None:
        self.app = app
        self.users = users
        self._good: set[tuple[str, bytes]] = set()

    def check(self, header: bytes | None) -> bool:
        """Whether an Authorization header names a user with the right password."""
        if not header or not header[:6].lower() == b"basic ":
            return False
        try:
            name, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not sep or name not in self.users:
            return False
        key = (name, hashlib.sha256(password.encode("utf-8")).digest())
        if key in self._good:
            return True
        import bcrypt

        if bcrypt.checkpw(password.encode("utf-8"), self.users[name]):
            self._good.add(key)
            return True
        return False

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.check(headers.get(b"authorization")):
            await self.app(scope, receive, send)
            return
        msg = "authentication required: give a user and password of the server's users file (HTTP Basic)"
        body = json.dumps({"response": {"status": "fail", "err": {"msg": msg, "code": 401,
                                                                 "description": "auth"}}}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode())]})
        await send({"type": "http.response.body", "body": body})
