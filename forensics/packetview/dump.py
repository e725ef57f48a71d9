"""tcpdump's -x / -X / -A dumps of packet bytes (print-ascii.c's layout, 16 bytes a line in 2-byte groups)."""

from __future__ import annotations


def hex_lines(data: bytes, ascii_column: bool = False) -> list[str]:
    """tcpdump -x (hex) or -X (hex and ASCII) lines: 16 bytes per line in 2-byte groups."""
    out = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        groups = " ".join(chunk[i:i + 2].hex() for i in range(0, len(chunk), 2))
        if ascii_column:
            text = "".join(chr(b) if 0x21 <= b < 0x7F else "." for b in chunk)  # tcpdump: graphic only
            out.append(f"\t0x{off:04x}:  {groups:<39}  {text}")
        else:
            out.append(f"\t0x{off:04x}:  {groups}")
    return out


def ascii_text(data: bytes) -> str:
    """tcpdump -A: graphic bytes, space, tab and newline as they are, a CR before a LF dropped, the rest '.'."""
    out = []
    n = len(data)
    for i, b in enumerate(data):
        if b == 13:
            if i + 1 == n or data[i + 1] != 10:
                out.append(".")
        elif 0x21 <= b < 0x7F or b in (9, 10, 32):
            out.append(chr(b))
        else:
            out.append(".")
    return "".join(out)


def dump_lines(data: bytes, mode: str) -> list[str]:
    """The dump for mode 'x' (hex), 'X' (hex + ASCII) or 'A' (ASCII)."""
    if mode == "x":
        return hex_lines(data)
    if mode == "X":
        return hex_lines(data, ascii_column=True)
    if mode == "A":
        return ascii_text(data).split("\n")
    raise ValueError(f"unknown dump mode {mode!r}")
