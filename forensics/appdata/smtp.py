"""SMTP (RFC 5321) commands and replies, one row each: EHLO/HELO name, MAIL FROM, RCPT TO, STARTTLS, reply
codes and the first line of each reply's text. Not the message: a DATA body (up to the line ".") and BDAT
chunks (RFC 3030, their announced size) are skipped, which takes state carried from one segment of a
direction to the next (`parse`'s `skip`).

Lines are read within each segment (TCP is not reassembled): a line cut by the segment's end is read as far
as it goes. A command line is one whose first word is an SMTP verb (COMMANDS, any case); a reply line starts
with three digits then a space, a hyphen or its end; the lines of a multi-line reply ("250-...") are one row.
Other lines (AUTH exchanges' base64, anything else) give no row.
"""

from __future__ import annotations

from forensics.appdata.wire import Malformed, text

PORTS = (25, 587, 2525)  # submission and relay; 465 is TLS from the first byte (its hello is read as TLS)
COMMANDS = frozenset({b"HELO", b"EHLO", b"MAIL", b"RCPT", b"DATA", b"BDAT", b"RSET", b"VRFY", b"EXPN", b"HELP",
                      b"NOOP", b"QUIT", b"STARTTLS", b"AUTH", b"ETRN", b"TURN", b"ATRN", b"XCLIENT", b"XFORWARD"})
STARTS = tuple(v + b" " for v in COMMANDS) + tuple(v.lower() + b" " for v in COMMANDS) + tuple(
    v + b"\r\n" for v in COMMANDS) + tuple(v.lower() + b"\r\n" for v in COMMANDS)
IN_BODY = -1  # `skip` while a DATA body runs


def looks_like(data: bytes) -> bool:
    """SMTP on any port: a greeting whose first line names (E)SMTP, or an EHLO/HELO command."""
    head = data[:5].upper()
    if head in (b"EHLO ", b"HELO "):
        return True
    first = data.split(b"\n", 1)[0]
    return first[:4] in (b"220 ", b"220-") and b"SMTP" in first.upper()


def parse(data: bytes, skip: int = 0) -> tuple[list[dict], int]:
    """(rows, skip after this segment) for one segment of a direction; skip: IN_BODY inside a DATA body,
    n > 0 BDAT bytes still to come, 0 between commands. Malformed when a MAIL/RCPT line has no FROM:/TO:
    or a reply's code is outside 200-599 (the rows before it are kept in the exception's `rows`)."""
    rows: list[dict] = []
    i, n = 0, len(data)
    continuing = False  # the previous line was a reply line with a hyphen: this one continues it
    while i < n:
        if skip > 0:
            step = min(skip, n - i)
            i += step
            skip -= step
            continue
        if skip == IN_BODY:
            if i == 0 and data.startswith(b".\r\n"):
                i, skip = 3, 0
                continue
            end = data.find(b"\r\n.\r\n", i)
            if end < 0:
                return rows, skip
            i, skip = end + 5, 0
            continue
        j = data.find(b"\n", i)
        line = data[i:n if j < 0 else j]
        i = n if j < 0 else j + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) >= 3 and line[:3].isdigit() and line[3:4] in (b"", b" ", b"-"):
            code = int(line[:3])
            if not continuing or not rows or rows[-1]["reply_code"] != code:
                if not 200 <= code <= 599:
                    raise _bad(rows, f"reply code {code}")
                rows.append(_row(reply_code=code, reply_text=text(line[4:]) if len(line) > 4 else None,
                                 is_response=True))
            continuing = line[3:4] == b"-"
            continue
        continuing = False
        verb, _, param = line.partition(b" ")
        verb = verb.upper()
        if verb not in COMMANDS:
            continue
        row = _row(command=verb.decode(), parameter=text(param) if param else None)
        if verb in (b"HELO", b"EHLO"):
            row["helo"] = text(param.strip()) if param.strip() else None
        elif verb in (b"MAIL", b"RCPT"):
            key = b"FROM:" if verb == b"MAIL" else b"TO:"
            if not param[:len(key)].upper() == key:
                raise _bad(rows, f"{verb.decode()} without {key.decode()}")
            row["mail_from" if verb == b"MAIL" else "rcpt_to"] = _address(param[len(key):])
        elif verb == b"DATA":
            skip = IN_BODY
        elif verb == b"BDAT":
            size = param.split(b" ", 1)[0]
            skip = int(size) if size.isdigit() else 0
        rows.append(row)
    return rows, skip


def _address(raw: bytes) -> str:
    """The path of MAIL FROM:/RCPT TO: without its angle brackets and parameters ('' for the null path <>)."""
    raw = raw.strip()
    if raw.startswith(b"<"):
        end = raw.find(b">")
        return text(raw[1:end if end >= 0 else len(raw)])
    return text(raw.split(b" ", 1)[0])


def _row(**values: object) -> dict:
    row: dict = {"is_response": False, "command": None, "parameter": None, "helo": None, "mail_from": None,
                 "rcpt_to": None, "reply_code": None, "reply_text": None}
    row.update(values)
    return row


def _bad(rows: list[dict], what: str) -> Malformed:
    exc = Malformed(what)
    exc.rows = rows  # type: ignore[attr-defined]
    return exc
