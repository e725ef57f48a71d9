"""tcpdump's txtproto_print: the first line of HTTP, RTSP, SMTP, FTP, IMAP, POP3 ... payloads."""

from __future__ import annotations

HTTP_COMMANDS = ("OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT", "PROPFIND", "PROPPATCH",
                 "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "ORDERPATCH", "PATCH")
RTSP_COMMANDS = ("DESCRIBE", "ANNOUNCE", "GET_PARAMETER", "OPTIONS", "PAUSE", "PLAY", "RECORD", "REDIRECT",
                 "SETUP", "SET_PARAMETER", "TEARDOWN")
_MAX_TOKEN = 128


def _printable(c: int) -> bool:
    return 0x20 <= c < 0x7F


def _fetch_token(data: bytes, idx: int, length: int) -> tuple[int, str]:
    """(index after the token and the blanks that follow, the token); (0, '') when there is none."""
    tok = []
    while idx < length:
        if idx >= len(data):
            return 0, ""
        c = data[idx]
        if c > 0x7F:
            return 0, ""
        if c in (0x20, 9, 13, 10):
            break
        if not _printable(c) or len(tok) + 2 > _MAX_TOKEN + 1:
            return 0, ""
        tok.append(chr(c))
        idx += 1
    if not tok:
        return 0, ""
    while idx < length and idx < len(data):
        c = data[idx]
        if c in (13, 10) or not _printable(c) or c not in (0x20, 9):
            break
        idx += 1
    return idx, "".join(tok)


def _line(data: bytes, start: int, length: int, proto: str, prefix: str) -> tuple[str, int]:
    """print_txt_line: (text, index after the line's end; 0 when nothing follows or the line is binary)."""
    idx = start
    while idx < length:
        if idx >= len(data):
            return f" [|{proto}]", 0
        c = data[idx]
        if c == 10:
            return prefix + data[start:idx].decode("ascii"), idx + 1
        if c == 13:
            if idx + 1 >= length:
                return "", 0
            if idx + 1 >= len(data):
                return f" [|{proto}]", 0
            if data[idx + 1] == 10:
                return prefix + data[start:idx].decode("ascii"), idx + 2
            return "", 0
        if not _printable(c) and c != 9:
            return "", 0
        idx += 1
    return prefix + data[start:idx].decode("ascii") + f" [|{proto}]", 0


def txtproto(data: bytes, length: int, proto: str, commands: tuple[str, ...] | None,
             code_second: bool = False, verbose: int = 0) -> str:
    """'HTTP: GET / HTTP/1.1', 'HTTP' (not a request or response line), 'SMTP: 220 ...'; with -v
    'HTTP, length: N' and every text line on its own line."""
    show = commands is None
    if commands is not None:
        idx, tok = _fetch_token(data, 0, length)
        if idx:
            if tok.upper() in commands:
                show = True
            if code_second:
                idx, tok = _fetch_token(data, idx, length)
            if idx and len(tok) == 3 and tok.isdigit():
                show = True
    out = proto.upper()
    if show and verbose:
        out += f", length: {length}"
        idx = 0
        while idx < length:
            text, idx = _line(data, idx, length, proto, "\n\t")
            out += text
            if not idx:
                break
    elif show:
        out += _line(data, 0, length, proto, ": ")[0]
    return out
