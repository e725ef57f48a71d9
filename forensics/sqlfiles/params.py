"""Typed report parameters: declaration, defaults, coercion of command-line strings, declared == used."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# Parameter types a definition may declare, and the Python type their values are coerced to.
PARAM_TYPES = ("VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "BOOLEAN", "TIMESTAMP")

# One left-to-right scan: whichever of a comment, a string literal, a quoted identifier or a placeholder starts
# first wins, so an apostrophe inside a `--` comment does not open a string that hides later placeholders.
_TOKENS = re.compile(r"""--[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^']|'')*(?:'|\Z)|"(?:[^"]|"")*(?:"|\Z)"""
                     r"|\$([A-Za-z_][A-Za-z0-9_]*)", re.S)


@dataclass(frozen=True)
class Param:
    """One `-- param: NAME TYPE [= DEFAULT]` declaration."""

    name: str
    type: str
    default: object = None
    has_default: bool = False

    def coerce(self, value: object) -> object:
        """Turn a value (often a command-line string) into this parameter's type; ValueError if it cannot."""
        if value is None:
            return None
        if self.type == "VARCHAR":
            return str(value)
        if self.type in ("INTEGER", "BIGINT"):
            if isinstance(value, bool):
                raise ValueError(f"{value!r} is not an integer")
            return int(value)
        if self.type == "DOUBLE":
            return float(value)
        if self.type == "BOOLEAN":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "yes", "1", "on"):
                return True
            if text in ("false", "no", "0", "off"):
                return False
            raise ValueError(f"{value!r} is not a boolean (true/false)")
        if self.type == "TIMESTAMP":
            return parse_timestamp(value)
        raise ValueError(f"unknown type {self.type}")


def parse_timestamp(value: object) -> dt.datetime:
    """'2016-09-06T12:00:00Z', '2016-09-06 12:00' or a datetime -> naive UTC datetime."""
    if isinstance(value, dt.datetime):
        stamp = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        stamp = dt.datetime.fromisoformat(text)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return stamp


def parse_param(text: str) -> Param:
    """'top INTEGER = 10' -> Param. ValueError with the reason when malformed."""
    decl, sep, default_text = text.partition("=")
    parts = decl.split()
    if len(parts) != 2:
        raise ValueError("expected 'NAME TYPE [= DEFAULT]'")
    name, ptype = parts[0], parts[1].upper()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"parameter name {name!r} is not an identifier")
    if ptype not in PARAM_TYPES:
        raise ValueError(f"parameter {name}: type {ptype} is not one of {', '.join(PARAM_TYPES)}")
    param = Param(name, ptype)
    if not sep:
        return param
    raw = default_text.strip()
    if raw.upper() == "NULL":
        return Param(name, ptype, None, True)
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        raw = raw[1:-1].replace("''", "'")
    try:
        return Param(name, ptype, param.coerce(raw), True)
    except ValueError as exc:
        raise ValueError(f"parameter {name}: default {raw!r}: {exc}") from None


def placeholders(sql: str) -> set[str]:
    """Names of the `$name` placeholders used in SQL text (comments and string literals ignored)."""
    return {m.group(1) for m in _TOKENS.finditer(sql) if m.group(1)}
