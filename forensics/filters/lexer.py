"""Tokens of a pcap-filter expression, each with the 1-based column where it starts."""

from __future__ import annotations

from dataclasses import dataclass

from forensics.errors import FilterSyntaxError

# Operators, longest first so that '!=' wins over '!' and '&&' over '&'.
_OPERATORS = [
    "&&",
    "||",
    "!=",
    "==",
    "<=",
    ">=",
    "<<",
    ">>",
    "(",
    ")",
    "[",
    "]",
    "!",
    "&",
    "|",
    "=",
    "<",
    ">",
    "+",
    "*",
    "/",
    "%",
    "^",
    ":",
]

# Characters that may appear inside a word: names (tcp-syn), numbers (0x1f), addresses (10.0.0.1,
# 2001:db8::1), CIDR blocks (10.0.0.0/8) and port ranges (1000-2000).
_WORD_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:/")


@dataclass(frozen=True)
class Token:
    """One token: kind is 'word', 'op' or 'end'; col is 1-based."""

    kind: str
    text: str
    col: int

    def __str__(self) -> str:
        return "end of expression" if self.kind == "end" else repr(self.text)


def _word_end(expr: str, i: int) -> int:
    """End of a word starting at i. ':' and '/' belong to a word only when it is an address or CIDR."""
    j = i
    while j < len(expr) and expr[j] in _WORD_CHARS:
        j += 1
    word = expr[i:j]
    if ":" in word and not _looks_ipv6(word.split("/", 1)[0]):
        # 'tcp[13:1]': the ':' is the slice separator, not part of an address.
        j = i + word.index(":")
    word = expr[i:j]
    if "/" in word and not _looks_address(word.split("/", 1)[0]):
        j = i + word.index("/")
    return j


def _looks_ipv6(word: str) -> bool:
    return word.count(":") >= 2 and all(c in "0123456789abcdefABCDEF:." for c in word)


def _looks_address(word: str) -> bool:
    if _looks_ipv6(word):
        return True
    parts = word.split(".")
    return all(p.isdigit() for p in parts) and bool(parts)


def tokenize(expr: str) -> list[Token]:
    """Split `expr` into tokens; the list ends with an 'end' token. Raises FilterSyntaxError."""
    tokens: list[Token] = []
    i = 0
    n = len(expr)
    while i < n:
        c = expr[i]
        if c.isspace():
            i += 1
            continue
        if c == "\\":  # pcap-filter's escape for names that are also keywords: proto \tcp
            j = _word_end(expr, i + 1) if i + 1 < n and expr[i + 1] not in ":/-" else i + 1
            if j == i + 1:
                raise FilterSyntaxError(expr, i + 1, "expected a name after '\\'")
            tokens.append(Token("word", expr[i + 1 : j], i + 1))
            i = j
            continue
        if (c in _WORD_CHARS and c not in ":/-") or expr.startswith("::", i):
            j = _word_end(expr, i)
            if j > i:  # '::x' is no address: then ':' is an operator, below
                tokens.append(Token("word", expr[i:j], i + 1))
                i = j
                continue
        if c == "-":
            tokens.append(Token("op", "-", i + 1))
            i += 1
            continue
        for op in _OPERATORS:
            if expr.startswith(op, i):
                tokens.append(Token("op", op, i + 1))
                i += len(op)
                break
        else:
            raise FilterSyntaxError(expr, i + 1, f"unexpected character {c!r}")
    tokens.append(Token("end", "", n + 1))
    return tokens
