"""Compile a filter syntax tree to a SQL boolean over the packets or flows table.

Every value from the expression becomes a bound parameter ($f0, $f1, ...); the SQL text is built only
from fixed fragments and column names, so no expression can change a query's structure.

A packet without the header a primitive tests does not match it, and `not` of it does (as in libpcap, where
`not port 80` matches ARP): a primitive over a NULL column is NULL, which must count as false. The result is a
WHERE condition: a row matches when it is TRUE, and a row that does not match may give FALSE or NULL. So only
the primitives under an odd number of `not`s are wrapped in coalesce(..., false), where NULL-ness would flip
the answer; the others are left bare, where DuckDB pushes them into the scan (Parquet row-group statistics
skip data, and a DuckDB table scan filters while it reads: counts took 25-40% less CPU, bench/lake.py).
Proof sketch: with E the expression with every primitive coalesced (never NULL) and E' this one, E' is TRUE
exactly where E is TRUE in a positive position, and FALSE exactly where E is FALSE under a `not`; AND and OR
keep both properties, NOT swaps them. Callers put it in a WHERE (or a FILTER/CASE WHEN, where NULL is not
true): never use it as a boolean value that NOT or IS FALSE could read.
"""

from __future__ import annotations

import re

from forensics.errors import UsageError
from forensics.filters.parser import And, Arith, Node, Not, Or, Prim

TABLES = ("packets", "flows")
# Columns the flows table lacks, by the primitive that would need them.
_FLOW_MISSING = {
    "len": "less/greater/len (flows have no per-packet length)",
    "ethertype": "arp/rarp/ether proto (flows have no ethertype)",
    "mpls": "mpls (flows have no MPLS label)",
    "mac": "ether host (flows have no MAC addresses)",
    "link_broadcast": "broadcast (flows have no MAC addresses)",
    "link_multicast": "multicast (flows have no MAC addresses)",
    "load": "byte offsets such as ip[8] (flows keep no header bytes)",
}
ETH_ARP, ETH_RARP = 0x0806, 0x8035
_V4_BASE = 0xFFFF << 32  # ::ffff:0.0.0.0
# The SQL function that reads header bytes from the original capture (forensics.carve.register_byte_loads):
# LOAD_FUNCTION(capture_id, file_offset, caplen, wirelen, linktype, layer, offset, size) -> BIGINT or NULL.
LOAD_FUNCTION = "forensics_load"
LAYER_LINK, LAYER_NET, LAYER_TRANSPORT = 0, 1, 2
# proto[...]: (layer, ip version or None, ip protocol or None, ethertype or None) its header is found by.
_LOADS = {
    "ether": (LAYER_LINK, None, None, None),
    "ip": (LAYER_NET, 4, None, None),
    "ip6": (LAYER_NET, 6, None, None),
    "arp": (LAYER_NET, None, None, ETH_ARP),
    "rarp": (LAYER_NET, None, None, ETH_RARP),
    "tcp": (LAYER_TRANSPORT, None, 6, None),
    "udp": (LAYER_TRANSPORT, None, 17, None),
    "sctp": (LAYER_TRANSPORT, None, 132, None),
    "icmp": (LAYER_TRANSPORT, 4, 1, None),
    "igmp": (LAYER_TRANSPORT, 4, 2, None),
    "icmp6": (LAYER_TRANSPORT, 6, 58, None),
}
# (proto, offset, size) -> SQL over decoded columns giving the same value as the header bytes.
_COLUMN_LOADS = {
    ("tcp", 13, 1): "(tcp_flags::BIGINT & 255)",
    ("tcp", 0, 2): "src_port::BIGINT", ("tcp", 2, 2): "dst_port::BIGINT",
    ("udp", 0, 2): "src_port::BIGINT", ("udp", 2, 2): "dst_port::BIGINT",
    ("sctp", 0, 2): "src_port::BIGINT", ("sctp", 2, 2): "dst_port::BIGINT",
    ("tcp", 0, 4): "(src_port::BIGINT * 65536 + dst_port)", ("udp", 0, 4): "(src_port::BIGINT * 65536 + dst_port)",
    ("icmp", 0, 1): "icmp_type::BIGINT", ("icmp", 1, 1): "icmp_code::BIGINT",
    ("icmp6", 0, 1): "icmp_type::BIGINT", ("icmp6", 1, 1): "icmp_code::BIGINT",
    ("icmp", 0, 2): "(icmp_type::BIGINT * 256 + icmp_code)", ("icmp6", 0, 2): "(icmp_type::BIGINT * 256 + icmp_code)",
    ("ip", 2, 2): "ip_len::BIGINT", ("ip", 4, 2): "ip_id::BIGINT", ("ip", 8, 1): "ttl::BIGINT",
    ("ip", 9, 1): "ip_proto::BIGINT",
    ("ip", 12, 4): f"(CASE WHEN ip_version = 4 THEN (src_ip - {_V4_BASE}::UHUGEINT)::BIGINT END)",
    ("ip", 16, 4): f"(CASE WHEN ip_version = 4 THEN (dst_ip - {_V4_BASE}::UHUGEINT)::BIGINT END)",
    ("ip6", 4, 2): "(ip_len::BIGINT - 40)", ("ip6", 7, 1): "ttl::BIGINT",
    ("arp", 6, 2): "arp_op::BIGINT", ("rarp", 6, 2): "arp_op::BIGINT",
}
# Loads over columns that flows also have (flows.tcp_flags is the OR over the flow).
_FLOW_LOADS = {("tcp", 13, 1), ("icmp", 0, 1), ("icmp", 1, 1), ("icmp6", 0, 1), ("icmp6", 1, 1)}
_BROADCAST = b"\xff" * 6
_COLUMN = re.compile(r"\b(tcp_flags|src_port|dst_port|icmp_type|icmp_code|ip_len|ip_id|ttl|ip_proto|src_ip|dst_ip"
                     r"|arp_op|ip_version)\b")


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
    def node(self, n: Node, negated: bool = False) -> str:
        """SQL for `n`; `negated`: under an odd number of NOTs (there a NULL primitive must read as false)."""
        if isinstance(n, And):
            return f"({self.node(n.left, negated)} AND {self.node(n.right, negated)})"
        if isinstance(n, Or):
            return f"({self.node(n.left, negated)} OR {self.node(n.right, negated)})"
        if isinstance(n, Not):
            return f"(NOT {self.node(n.operand, not negated)})"
        return f"coalesce({self.prim(n)}, false)" if negated else self.prim(n)

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
        family, d, addr, version = p.args
        value = self.bind(addr, "UHUGEINT")
        return self._ip_or_arp(family, version, d, lambda column: f"{column} = {value}")

    def _net(self, p: Prim) -> str:
        family, d, lo, hi, version = p.args
        lo_s, hi_s = self.bind(lo, "UHUGEINT"), self.bind(hi, "UHUGEINT")
        return self._ip_or_arp(family, version, d, lambda column: f"{column} BETWEEN {lo_s} AND {hi_s}")

    def _ip_or_arp(self, family: object, version: int, d: str, test: object) -> str:
        """An address test on the IP header, and (libpcap's `host`/`net` with an IPv4 address and no protocol,
        or `arp`/`rarp host`) on ARP's sender (src) and target (dst) protocol addresses."""
        parts = []
        if family in (None, 4, 6):
            cond = self._addr_test(d, lambda side: test(self.col(side + "_ip")))
            parts.append(f"({self._version(version)} AND {cond})")
        arp_types = {None: (ETH_ARP, ETH_RARP), "arp": (ETH_ARP,), "rarp": (ETH_RARP,)}.get(family, ())
        if version == 4 and arp_types and self.table == "packets":
            types = ", ".join(self.bind(t) for t in arp_types)
            cond = self._addr_test(d, lambda side: test(self.col("arp_spa" if side == "src" else "arp_tpa")))
            parts.append(f"({self.col('eth_type')} IN ({types}) AND {cond})")
        elif family in ("arp", "rarp"):
            raise UsageError(f"filter: '{family} host/net' cannot apply to flows (flows have no ARP addresses)")
        return parts[0] if len(parts) == 1 else f"({' OR '.join(parts)})"

    def _mac(self, p: Prim) -> str:
        d, value = p.args
        v = self.bind(value, "BLOB")
        return self._addr_test(d, lambda side: f"{self.col(side + '_mac')} = {v}")

    def _link_broadcast(self, p: Prim) -> str:
        return f"{self.col('dst_mac')} = {self.bind(_BROADCAST, 'BLOB')}"

    def _link_multicast(self, p: Prim) -> str:
        # The group bit: the lowest bit of the first byte (broadcast included), as libpcap's ether[0] & 1 != 0.
        return f"get_bit({self.col('dst_mac')}::BIT, 7) = 1"

    def _ip_multicast(self, p: Prim) -> str:
        version = p.args[0]
        lo = (_V4_BASE | 0xE0000000) if version == 4 else 0xFF << 120
        return f"({self._version(version)} AND {self.col('dst_ip')} >= {self.bind(lo, 'UHUGEINT')})"

    def _ip_broadcast(self, p: Prim) -> str:
        # As tcpdump -r compiles 'ip broadcast' (netmask 0): an IPv4 destination of all zeros or all ones.
        zeros, ones = self.bind(_V4_BASE, "UHUGEINT"), self.bind(_V4_BASE | 0xFFFFFFFF, "UHUGEINT")
        return f"({self._version(4)} AND {self.col('dst_ip')} IN ({zeros}, {ones}))"

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
        if kind == "load":
            return self.load(a, guards, p)
        _, op, left, right = a
        ls, rs = self.arith(left, guards, p), self.arith(right, guards, p)
        if op in ("&", "|", ">>"):
            return f"({ls} {op} {rs})"
        if op == "^":
            return f"xor({ls}, {rs})"
        if op == "/":
            return f"({ls} // nullif({rs}, 0))"
        if op == "%":
            return f"({ls} % nullif({rs}, 0))"
        if op == "<<":
            return f"(({ls} << least({rs}, 32)) % 4294967296)"
        return f"((({ls} {op} {rs}) % 4294967296 + 4294967296) % 4294967296)"

    def field(self, name: str, guards: list[str], p: Prim) -> str:
        if self.table == "flows":
            raise UsageError(f"filter: '{p.text}' cannot apply to flows: {_FLOW_MISSING['len']}")
        return f"{self.col('wirelen')}::BIGINT"

    def load(self, a: Arith, guards: list[str], p: Prim) -> str:
        """proto[offset:size]: from a decoded column when one holds those bytes, else read from the capture."""
        _, proto, offset, size = a
        layer, version, ip_proto, ethertype = _LOADS[proto]
        conds = []
        if version is not None:
            conds.append(self._version(version))
        if ip_proto is not None:
            conds.append(f"{self.col('ip_proto')} = {self.bind(ip_proto)}")
        if ethertype is not None:
            conds.append(f"{self.col('eth_type')} = {self.bind(ethertype)}")
        key = (proto, offset[1], size) if offset[0] == "num" else None
        if self.table == "flows":
            if key not in _FLOW_LOADS:
                raise UsageError(f"filter: '{p.text}' cannot apply to flows: {_FLOW_MISSING['load']}")
            guards.extend(conds)
            column = {"tcp": "tcp_flags", "icmp": "icmp_type", "icmp6": "icmp_type"}[proto]
            column = "icmp_code" if proto != "tcp" and offset[1] == 1 else column
            guards.append(f"{self.col(column)} IS NOT NULL")
            return f"({self.col(column)}::BIGINT & 255)"
        if key in _COLUMN_LOADS:
            guards.extend(conds)
            return _COLUMN.sub(lambda m: self.col(m.group(0)), _COLUMN_LOADS[key])
        if key is not None and proto == "ether" and key[1] + size <= 12:
            # Ethernet's MAC bytes: from the MAC columns (the BLOB's bytes as a big-endian number).
            column, start = ("dst_mac", key[1]) if key[1] + size <= 6 else ("src_mac", key[1] - 6)
            if start >= 0:
                guards.append(f"{self.col('linktype')} = {self.bind(1)}")
                guards.append(f"{self.col(column)} IS NOT NULL")
                return (f"('0x' || substring(hex({self.col(column)}), {self.bind(2 * start + 1)}, "
                        f"{self.bind(2 * size)}))::BIGINT")
        # Read the bytes from the capture file, only for the packets that have the header (CASE narrows).
        off_sql = self.arith(offset, guards, p)
        guards.extend(conds)
        call = (f"{LOAD_FUNCTION}({self.col('capture_id')}, {self.col('file_offset')}, {self.col('caplen')}, "
                f"{self.col('wirelen')}, {self.col('linktype')}, {self.bind(layer)}::TINYINT, ({off_sql})::BIGINT, "
                f"{self.bind(size)}::TINYINT)")
        if not conds:
            return call
        return f"(CASE WHEN {' AND '.join(conds)} THEN {call} END)"


def uses_byte_loads(sql: str) -> bool:
    """Whether compiled filter SQL reads header bytes from capture files (forensics.carve.register_byte_loads)."""
    return LOAD_FUNCTION + "(" in sql


def compile_tree(
    node: Node | None, table: str = "packets", alias: str | None = None, prefix: str = "f"
) -> tuple[str, dict]:
    """SQL condition and its parameters for a parsed filter (None: matches everything). A WHERE condition: a
    row matches when it is TRUE; a row that does not may give NULL (see the module's docstring)."""
    builder = SqlBuilder(table, alias, prefix)
    if node is None:
        return "true", {}
    return builder.node(node), builder.params
