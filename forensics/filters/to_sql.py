"""Compile a filter syntax tree to a SQL boolean over the packets or flows table.

Every value from the expression becomes a bound parameter ($f0, $f1, ...); the SQL text is built only
from fixed fragments and column names, so no expression can change a query's structure. Each primitive
is wrapped in coalesce(..., false): a packet without the header a primitive tests does not match it,
and `not` of it does (as in libpcap, where `not port 80` matches ARP).
"""

from __future__ import annotations

from forensics.errors import UsageError
from forensics.filters.parser import And, Arith, Node, Not, Or, Prim

TABLES = ("packets", "flows")
# Columns the flows table lacks, by the primitive that would need them.
_FLOW_MISSING = {
    "len": "less/greater/len (flows have no per-packet length)",
    "ethertype": "arp/rarp (flows have no ethertype)",
    "mpls": "mpls (flows have no MPLS label)",
}


class SqlBuilder:
    """Collects bound parameters while turning a tree into SQL text."""

    def __init__(self, table: str, alias: str | None, prefix: str) -> None:
        if table not in TABLES:
            raise UsageError(f"filter: unknown table {table!r}; filters apply to {' or '.join(TABLES)}")
        if alias is not None and not alias.isidentifier():
            raise UsageError(f"filter: alias {alias!r} is not an identifier")
        if not prefix.isidentifier():
            raise UsageError(f"filter: parameter prefix {prefix!r} is not an identifier")
        self.table = table
        self.col_prefix = f"{alias}." if alias else ""
        self.prefix = prefix
        self.params: dict[str, object] = {}

    def col(self, name: str) -> str:
        return self.col_prefix + name

    def bind(self, value: object, cast: str | None = None) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f"${name}::{cast}" if cast else f"${name}"

    # -- tree
    def node(self, n: Node) -> str:
        if isinstance(n, And):
            return f"({self.node(n.left)} AND {self.node(n.right)})"
        if isinstance(n, Or):
            return f"({self.node(n.left)} OR {self.node(n.right)})"
        if isinstance(n, Not):
            return f"(NOT {self.node(n.operand)})"
        return f"coalesce({self.prim(n)}, false)"

    def prim(self, p: Prim) -> str:
        if self.table == "flows" and p.kind in _FLOW_MISSING:
            raise UsageError(f"filter: '{p.text}' cannot apply to flows: {_FLOW_MISSING[p.kind]}")
        return getattr(self, f"_{p.kind}")(p)

    def _version(self, v: int) -> str:
        return f"{self.col('ip_version')} = {self.bind(v)}"

    def _addr_test(self, d: str, test: object) -> str:
        """Combine a per-column test by direction ('src', 'dst', 'src or dst', 'src and dst')."""
        if d == "src":
            return test("src")
        if d == "dst":
            return test("dst")
        joiner = " OR " if d == "src or dst" else " AND "
        return f"({test('src')}{joiner}{test('dst')})"

    def _host(self, p: Prim) -> str:
        _family, d, addr, version = p.args
        value = self.bind(addr, "UHUGEINT")
        cond = self._addr_test(d, lambda side: f"{self.col(side + '_ip')} = {value}")
        return f"({self._version(version)} AND {cond})"

    def _net(self, p: Prim) -> str:
        _family, d, lo, hi, version = p.args
        lo_s, hi_s = self.bind(lo, "UHUGEINT"), self.bind(hi, "UHUGEINT")
        cond = self._addr_test(d, lambda side: f"{self.col(side + '_ip')} BETWEEN {lo_s} AND {hi_s}")
        return f"({self._version(version)} AND {cond})"

    def _port(self, p: Prim) -> str:
        transport, d, lo, hi = p.args
        if transport is None:
            proto = f"{self.col('ip_proto')} IN ({self.bind(6)}, {self.bind(17)}, {self.bind(132)})"
        else:
            proto = f"{self.col('ip_proto')} = {self.bind({'tcp': 6, 'udp': 17, 'sctp': 132}[transport])}"
        if lo == hi:
            v = self.bind(lo)
            cond = self._addr_test(d, lambda side: f"{self.col(side + '_port')} = {v}")
        else:
            lo_s, hi_s = self.bind(lo), self.bind(hi)
            cond = self._addr_test(d, lambda side: f"{self.col(side + '_port')} BETWEEN {lo_s} AND {hi_s}")
        return f"({proto} AND {cond})"

    def _proto(self, p: Prim) -> str:
        family, number = p.args
        cond = f"{self.col('ip_proto')} = {self.bind(number)}"
        return f"({self._version(family)} AND {cond})" if family else cond

    def _family(self, p: Prim) -> str:
        return self._version(p.args[0])

    def _ethertype(self, p: Prim) -> str:
        return f"{self.col('eth_type')} = {self.bind(p.args[0])}"

    def _vlan(self, p: Prim) -> str:
        return self._tag("vlan", p.args[0])

    def _mpls(self, p: Prim) -> str:
        return self._tag("mpls_label", p.args[0])

    def _tag(self, column: str, value: int | None) -> str:
        if value is None:
            return f"{self.col(column)} IS NOT NULL"
        return f"{self.col(column)} = {self.bind(value)}"

    def _len(self, p: Prim) -> str:
        op, n = p.args
        return f"{self.col('wirelen')} {op} {self.bind(n)}"

    def _rel(self, p: Prim) -> str:
        op, left, right = p.args
        guards: list[str] = []
        lsql = self.arith(left, guards, p)
        rsql = self.arith(right, guards, p)
        sql_op = {"==": "="}.get(op, op)
        rel = f"{lsql} {sql_op} {rsql}"
        unique = list(dict.fromkeys(guards))
        return f"({' AND '.join(unique + [rel])})"

    # -- arithmetic (BPF arithmetic is unsigned 32-bit)
    def arith(self, a: Arith, guards: list[str], p: Prim) -> str:
        kind = a[0]
        if kind == "num":
            return f"{self.bind(a[1])}::BIGINT"
        if kind == "field":
            return self.field(a[1], guards, p)
        _, op, left, right = a
        ls, rs = self.arith(left, guards, p), self.arith(right, guards, p)
        if op in ("&", "|", ">>"):
            return f"({ls} {op} {rs})"
        if op == "/":
            return f"({ls} // nullif({rs}, 0))"
        if op == "<<":
            return f"(({ls} << least({rs}, 32)) % 4294967296)"
        return f"((({ls} {op} {rs}) % 4294967296 + 4294967296) % 4294967296)"

    def field(self, name: str, guards: list[str], p: Prim) -> str:
        if name == "len":
            if self.table == "flows":
                raise UsageError(f"filter: '{p.text}' cannot apply to flows: {_FLOW_MISSING['len']}")
            return f"{self.col('wirelen')}::BIGINT"
        if name == "tcpflags":
            guards.append(f"{self.col('ip_proto')} = {self.bind(6)}")
            guards.append(f"{self.col('tcp_flags')} IS NOT NULL")
            return f"({self.col('tcp_flags')}::BIGINT & {self.bind(255)}::BIGINT)"
        version, proto = (4, 1) if name.startswith("icmp") and not name.startswith("icmp6") else (6, 58)
        guards.append(self._version(version))
        guards.append(f"{self.col('ip_proto')} = {self.bind(proto)}")
        column = "icmp_type" if name.endswith("type") else "icmp_code"
        guards.append(f"{self.col(column)} IS NOT NULL")
        return f"{self.col(column)}::BIGINT"


def compile_tree(
    node: Node | None, table: str = "packets", alias: str | None = None, prefix: str = "f"
) -> tuple[str, dict]:
    """SQL boolean expression and its parameters for a parsed filter (None: matches everything)."""
    builder = SqlBuilder(table, alias, prefix)
    if node is None:
        return "true", {}
    return builder.node(node), builder.params
