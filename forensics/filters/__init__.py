"""tcpdump-style (pcap-filter) expressions, compiled to SQL over the packets or flows table.

    sql, params = compile_filter("tcp dst port 445 and not net 10.0.0.0/8")
    con.execute(f"SELECT count(*) FROM packets WHERE {sql}", params)

Semantics are pcap-filter's (precedence, inherited qualifiers), applied to the decoded headers: VLAN,
QinQ, MPLS and PPPoE encapsulations are transparent. See docs/filters.md for the differences with libpcap.
"""

from __future__ import annotations

from forensics.errors import UsageError
from forensics.filters.parser import Node, explain, parse_filter
from forensics.filters.to_sql import compile_tree

__all__ = ["compile_filter", "explain_filter", "parse_filter"]


def compile_filter(
    expr: str, table: str = "packets", alias: str | None = None, prefix: str = "f"
) -> tuple[str, dict]:
    """A SQL WHERE condition over `table`'s columns (prefixed `alias.` if given) and its bound parameters: a row
    matches when it is TRUE (one that does not may give NULL: never negate or compare the result).

    Parameters are named `$<prefix>0`, `$<prefix>1`, ...; pass another prefix to combine two filters in
    one query. An empty expression compiles to `true`. Raises FilterSyntaxError (column + what was
    expected) or UsageError (a primitive the table cannot answer).
    """
    node: Node | None = parse_filter(expr)
    try:
        return compile_tree(node, table, alias, prefix)
    except RecursionError:
        raise UsageError(f"filter: {len(expr)} characters of expression are too deep to compile; "
                         "simplify it") from None


def explain_filter(expr: str) -> str:
    """The expression as parsed, fully parenthesised: 'A and B or C' -> '((A and B) or C)'."""
    node = parse_filter(expr)
    try:
        return explain(node)
    except RecursionError:
        raise UsageError(f"filter: {len(expr)} characters of expression are too deep to explain") from None
