"""HTTP/1.x request and response heads: method, URI, Host, User-Agent, status, Content-Type, Content-Length.

Only the head in the packet's own payload is read (no reassembly across segments); a header cut by
the end of the segment is not reported (head_complete false); a request line cut by it gives the
method only (a URI longer than a segment). Header names are matched case-insensitively; the first of a
repeated header wins.
"""

from __future__ import annotations

from forensics.appdata.wire import Malformed, text

METHODS = (b"GET", b"POST", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"CONNECT", b"TRACE", b"PATCH")
STARTS = tuple(m + b" " for m in METHODS) + (b"HTTP/1.",)
_WANTED = {b"host": "host", b"user-agent": "user_agent", b"content-type": "content_type",
           b"content-length": "content_length", b"server": "server"}


def looks_like(data: bytes) -> bool:
    """A request line of a known method, or a status line."""
    return data.startswith(STARTS)


def parse(data: bytes) -> dict:
    """The head at the start of `data` (a TCP payload)."""
    head_end = data.find(b"\r\n\r\n")
    head = data if head_end < 0 else data[:head_end]
    lines = head.split(b"\r\n")
    first = lines[0]
    row: dict = {"is_response": first.startswith(b"HTTP/1."), "head_complete": head_end >= 0,
                 "method": None, "uri": None, "version": None,
                 "status": None, "reason": None, "host": None, "user_agent": None, "content_type": None,
                 "content_length": None, "server": None}
    parts = first.split(b" ", 2)
    if row["is_response"]:
        if len(parts) < 2 or not parts[1].isdigit() or len(parts[1]) != 3:
            raise Malformed(f"status line {text(first[:40])!r}")
        row.update(version=text(parts[0]), status=int(parts[1]), reason=text(parts[2]) if len(parts) > 2 else "")
    else:
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
            if len(lines) == 1 and head_end < 0 and len(parts) >= 2:  # the line continues in the next segment
                row.update(method=text(parts[0]))
                return row
            raise Malformed(f"request line {text(first[:40])!r}")
        row.update(method=text(parts[0]), uri=text(parts[1]), version=text(parts[2]))
    complete = lines if head_end >= 0 else lines[:-1]  # the last line of a cut head may be cut
    for line in complete[1:]:
        name, sep, value = line.partition(b":")
        key = _WANTED.get(name.strip().lower())
        if not sep or key is None or row[key] is not None:
            continue
        value = value.strip()
        if key == "content_length":
            row[key] = int(value) if value.isdigit() and len(value) < 19 else None
        else:
            row[key] = text(value)
    return row
