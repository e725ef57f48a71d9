"""Parse pcap-filter expressions into a small syntax tree.

Precedence is pcap-filter's: `not` binds tightest; `and` and `or` have EQUAL precedence and associate
left to right, so `A and B or C and D` is `((A and B) or C) and D`. An id without a keyword takes the
most recent keyword: `host a or b` is `host a or host b`, `not host vs and ace` is
`(not host vs) and host ace`.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from forensics.errors import FilterSyntaxError, UsageError
from forensics.filters.lexer import Token, tokenize
from forensics.netaddr import cidr_range, ip_to_int

# --------------------------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class And:
    """Both sides match."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    """Either side matches."""

    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    """The operand does not match."""

    operand: Node


@dataclass(frozen=True)
class Prim:
    """A primitive. `kind` names it; `args` are its values; `text` is its canonical spelling.

    kinds and args:
      host   (family|None, dir, address int, version)     net  (family|None, dir, lo, hi, version)
      port   (transport|None, dir, lo, hi)                proto (family|None, number)
      family (4|6)       ethertype (value)     vlan (id|None)     mpls (label|None)
      len    (op, n)     rel (op, left arith, right arith)
      mac    (dir, 6 bytes)    link_broadcast ()    link_multicast ()    ip_multicast (4|6)    ip_broadcast ()
    family of host/net: 4, 6, 'arp', 'rarp' or None (an IPv4 address then also matches ARP/RARP's
    protocol addresses, as in libpcap). dir is one of 'src', 'dst', 'src or dst', 'src and dst'.
    """

    kind: str
    args: tuple
    text: str


Node = And | Or | Not | Prim

# Arithmetic (tcp[13] & 2 ...): ("num", n) | ("field", "len") | ("load", proto, offset arith, size)
# | ("bin", op, left, right)
Arith = tuple

# ----------------------------------------------------------------------------------------- keywords

PROTO_NUMBERS = {
    "icmp": 1,
    "igmp": 2,
    "tcp": 6,
    "udp": 17,
    "ipv6": 41,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "icmp6": 58,
    "pim": 103,
    "vrrp": 112,
    "sctp": 132,
}
# Protocol keywords that stand alone as primitives: (family or None, ip protocol).
_PROTO_PRIMS = {
    "tcp": (None, 6),
    "udp": (None, 17),
    "sctp": (None, 132),
    "icmp": (4, 1),
    "icmp6": (6, 58),
    "igmp": (4, 2),
    "igrp": (4, 9),
    "ah": (None, 51),
    "esp": (None, 50),
    "pim": (None, 103),
    "vrrp": (4, 112),
    "carp": (4, 112),
}
_TRANSPORTS = {"tcp", "udp", "sctp"}
_FAMILIES = {"ip": 4, "ip6": 6}
_ETHERTYPES = {"arp": 0x0806, "rarp": 0x8035}
_LINKS = {"ether", "link"}  # pcap-filter: 'link' is a synonym of 'ether'
# `ether proto NAME` names libpcap knows; the LLC-based ones (iso, stp, ipx, netbeui ...) are not decoded.
ETHER_PROTO_NAMES = {"ip": 0x0800, "ip6": 0x86DD, "arp": 0x0806, "rarp": 0x8035, "atalk": 0x809B, "aarp": 0x80F3,
                     "decnet": 0x6003, "lat": 0x6004, "moprc": 0x6002, "mopdl": 0x6001, "sca": 0x6007,
                     "loopback": 0x9000}
MAX_NUMBER = 0xFFFFFFFF  # BPF arithmetic is 32-bit: libpcap rejects larger numbers
_DIRS = {"src", "dst"}
_TYPES = {"host", "net", "port", "portrange"}
_UNSUPPORTED = {
    "fddi",
    "tr",
    "wlan",
    "ppp",
    "slip",
    "decnet",
    "iso",
    "atalk",
    "aarp",
    "ipx",
    "netbeui",
    "stp",
    "lat",
    "moprc",
    "mopdl",
    "inbound",
    "outbound",
    "ifname",
    "on",
    "rnr",
    "rulenum",
    "reason",
    "rset",
    "ruleset",
    "srnr",
    "subrulenum",
    "action",
    "type",
    "subtype",
    "dir",
    "ra",
    "ta",
    "addr1",
    "addr2",
    "addr3",
    "addr4",
    "protochain",
    "pppoes",
    "pppoed",
    "geneve",
    "atm",
    "lane",
    "oamf4",
    "llc",
    "clnp",
    "esis",
    "isis",
    "l1",
    "l2",
    "iih",
    "lsp",
    "snp",
    "csnp",
    "psnp",
    "sca",
    "vpi",
    "vci",
    "oam",
    "metac",
    "bcc",
    "sc",
    "ilmic",
    "connectmsg",
    "metaconnect",
    "hsrp",
}
KEYWORDS = (
    set(_PROTO_PRIMS)
    | set(_FAMILIES)
    | set(_ETHERTYPES)
    | _DIRS
    | _TYPES
    | _UNSUPPORTED
    | _LINKS
    | {"and", "or", "not", "vlan", "mpls", "less", "greater", "proto", "len", "mask", "broadcast", "multicast",
       "gateway"}
)

FLAG_NAMES = {
    "tcp-fin": 1,
    "tcp-syn": 2,
    "tcp-rst": 4,
    "tcp-push": 8,
    "tcp-ack": 16,
    "tcp-urg": 32,
    "tcp-ece": 64,
    "tcp-cwr": 128,
    "icmp-echoreply": 0,
    "icmp-unreach": 3,
    "icmp-sourcequench": 4,
    "icmp-redirect": 5,
    "icmp-echo": 8,
    "icmp-routeradvert": 9,
    "icmp-routersolicit": 10,
    "icmp-timxceed": 11,
    "icmp-paramprob": 12,
    "icmp-tstamp": 13,
    "icmp-tstampreply": 14,
    "icmp-ireq": 15,
    "icmp-ireqreply": 16,
    "icmp-maskreq": 17,
    "icmp-maskreply": 18,
    "icmp6-destinationunreach": 1,
    "icmp6-packettoobig": 2,
    "icmp6-timeexceeded": 3,
    "icmp6-parameterproblem": 4,
    "icmp6-echo": 128,
    "icmp6-echoreply": 129,
    "icmp6-routersolicit": 133,
    "icmp6-routeradvert": 134,
    "icmp6-neighborsolicit": 135,
    "icmp6-neighboradvert": 136,
    "icmp6-redirect": 137,
}
# Named offsets of pcap-filter (proto[name]).
_FIELD_OFFSETS = {"tcpflags": 13, "icmptype": 0, "icmpcode": 1, "icmp6type": 0, "icmp6code": 1}
# Protocols whose header bytes proto[offset:size] reads; 'link' is read as 'ether'.
LOAD_PROTOS = {"tcp", "udp", "icmp", "icmp6", "ip", "ip6", "sctp", "igmp", "ether", "link", "arp", "rarp"}
# Other protocols libpcap can index (proto[...]) whose layer the decoder does not know.
_OTHER_LOAD_PROTOS = {"ppp", "slip", "radio", "vrrp", "carp", "pim", "igrp", "decnet", "atalk", "aarp", "ah",
                      "esp", "iso", "ipx", "netbeui", "lat", "moprc", "mopdl", "sca"}
_FIELD_PROTOS = LOAD_PROTOS | _OTHER_LOAD_PROTOS

SERVICES = {
    "ftp-data": 20,
    "ftp": 21,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "domain": 53,
    "bootps": 67,
    "bootpc": 68,
    "tftp": 69,
    "http": 80,
    "www": 80,
    "kerberos": 88,
    "pop3": 110,
    "sunrpc": 111,
    "ntp": 123,
    "netbios-ns": 137,
    "netbios-dgm": 138,
    "netbios-ssn": 139,
    "imap": 143,
    "snmp": 161,
    "snmp-trap": 162,
    "bgp": 179,
    "ldap": 389,
    "https": 443,
    "microsoft-ds": 445,
    "syslog": 514,
    "submission": 587,
    "ldaps": 636,
    "imaps": 993,
    "pop3s": 995,
    "openvpn": 1194,
    "ms-sql-s": 1433,
    "radius": 1812,
    "nfs": 2049,
    "mysql": 3306,
    "ms-wbt-server": 3389,
    "sip": 5060,
    "postgresql": 5432,
    "http-alt": 8080,
}
MAX_NESTING = 50
RELOPS = {"=", "==", "!=", "<", ">", "<=", ">="}
_ARITH_OPS = {"|", "^", "&", "<<", ">>", "+", "-", "*", "/", "%"}

# ------------------------------------------------------------------------------------------- parser


@dataclass
class _Qual:
    """Qualifiers of the most recent primitive, inherited by a bare id."""

    proto: str | None
    dir: str | None
    type: str


class _Backtrack(Exception):
    pass


class Parser:
    """Recursive descent over the token list; one instance per expression."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = tokenize(expr)
        self.pos = 0
        self.last: _Qual | None = None

    # -- token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.pos + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        t = self.tokens[self.pos]
        if t.kind != "end":
            self.pos += 1
        return t

    def error(self, what: str, tok: Token | None = None) -> FilterSyntaxError:
        tok = tok or self.tok
        return FilterSyntaxError(self.expr, tok.col, f"{what}, found {tok}")

    def is_word(self, *words: str, k: int = 0) -> bool:
        t = self.peek(k) if k else self.tok
        return t.kind == "word" and t.text.lower() in words

    def is_op(self, *ops: str, k: int = 0) -> bool:
        t = self.peek(k) if k else self.tok
        return t.kind == "op" and t.text in ops

    def expect_op(self, op: str) -> Token:
        if not self.is_op(op):
            raise self.error(f"expected {op!r}")
        return self.advance()

    # -- boolean level
    def parse(self) -> Node:
        node = self.expression()
        if self.tok.kind != "end":
            raise self.error("expected 'and', 'or' or the end of the expression")
        return node

    def expression(self) -> Node:
        node = self.term()
        while True:
            if self.is_word("and") or self.is_op("&&"):
                self.advance()
                node = And(node, self.term())
            elif self.is_word("or") or self.is_op("||"):
                self.advance()
                node = Or(node, self.term())
            else:
                return node

    def term(self) -> Node:
        if self.is_word("not") or self.is_op("!"):
            self.advance()
            return Not(self.term())
        if self.is_op("("):
            start = self.pos
            try:
                return self.relation()
            except (_Backtrack, FilterSyntaxError):
                self.pos = start
            self.advance()
            node = self.expression()
            self.expect_op(")")
            return node
        if self.tok.kind == "end":
            raise self.error("expected a primitive (host, net, port, tcp, ...)")
        if self.tok.kind == "op":
            raise self.error("expected a primitive or '('")
        return self.primitive()

    # -- primitives
    def primitive(self) -> Node:
        t = self.tok
        w = t.text.lower()
        nxt = self.peek()
        if (
            (w in _FIELD_PROTOS and nxt.kind == "op" and nxt.text == "[")
            or w == "len"
            or (_is_number(t.text) and nxt.kind == "op" and nxt.text in RELOPS | _ARITH_OPS)
        ):
            try:
                return self.relation()
            except _Backtrack:
                raise self.error("expected a comparison such as 'tcp[tcpflags] & tcp-syn != 0'") from None
        if w in _UNSUPPORTED:
            raise UsageError(
                f"filter column {t.col}: '{t.text}' is not supported (the decoder keeps no header of that "
                "kind); use --bpf to pass the expression to libpcap"
            )
        if w == "gateway":
            raise UsageError(
                f"filter column {t.col}: 'gateway' is not supported: it needs a host name resolved to both a MAC "
                "(/etc/ethers) and an IP address, and nothing is resolved offline; write "
                "'ether host MAC and not host IP'"
            )
        if w in ("broadcast", "multicast"):
            self.advance()
            return Prim(f"link_{w}", (), w)
        if w in _LINKS:
            return self.link()
        if w in ("vlan", "mpls"):
            self.advance()
            if self.tok.kind == "word" and _is_number(self.tok.text):
                n = self.number(self.advance(), 4095 if w == "vlan" else 0xFFFFF)
                return Prim(w, (n,), f"{w} {n}")
            return Prim(w, (None,), w)
        if w in ("less", "greater"):
            self.advance()
            n = self.number_token(f"expected a length after '{w}'")
            return Prim("len", ("<=" if w == "less" else ">=", n), f"{w} {n}")
        if w in _ETHERTYPES:
            if self.is_word(*_DIRS, *_TYPES, k=1):
                return self.qualified()
            self.advance()
            if self.tok.kind == "word" and not self._ends_primitive():
                raise self.error(f"expected 'host', 'net', 'src' or 'dst' after '{w}'")
            return Prim("ethertype", (_ETHERTYPES[w],), w)
        if w == "proto":
            self.advance()
            n = self.proto_number()
            return Prim("proto", (None, n), f"proto {n}")
        return self.qualified()

    def link(self) -> Prim:
        """ether/link: host/src/dst MAC, broadcast, multicast, proto P (ether[...] is a relation)."""
        start = self.advance()
        if self.is_word("broadcast", "multicast"):
            w = self.advance().text.lower()
            return Prim(f"link_{w}", (), f"ether {w}")
        if self.is_word("proto"):
            self.advance()
            t = self.tok
            if t.kind == "word" and t.text.lower() in ETHER_PROTO_NAMES:
                self.advance()
                return Prim("ethertype", (ETHER_PROTO_NAMES[t.text.lower()],), f"ether proto {t.text.lower()}")
            if t.kind == "word" and _is_number(t.text):
                n = self.number(self.advance(), 0xFFFF)
                return Prim("ethertype", (n,), f"ether proto {n:#06x}")
            if t.kind == "word":
                raise UsageError(f"filter column {t.col}: 'ether proto {t.text}' is not supported: the decoder "
                                 "keeps no LLC (802.2) protocol; give an ethertype number or use --bpf")
            raise self.error("expected an ethertype number or name (ip, ip6, arp, rarp, ...) after 'ether proto'")
        if self.is_word("host", "src", "dst") or (self.tok.kind == "word" and self.tok.text.lower() not in KEYWORDS):
            self.pos -= 1
            return self.qualified()
        raise self.error("expected 'host', 'src', 'dst', 'broadcast', 'multicast' or 'proto' after "
                         f"'{start.text}'")

    def _ends_primitive(self) -> bool:
        t = self.tok
        return (
            t.kind == "end" or (t.kind == "op" and t.text in ("&&", "||", ")")) or self.is_word("and", "or")
        )

    def qualified(self) -> Node:
        """[proto] [dir] [type] id, or a protocol alone, or a bare id taking the last qualifiers."""
        start = self.tok
        proto = dir_ = type_ = None
        if self.is_word(*_PROTO_PRIMS, *_FAMILIES, *_LINKS, *_ETHERTYPES):
            proto = self.advance().text.lower()
            if proto == "link":
                proto = "ether"
            if proto in _FAMILIES and self.is_word("multicast"):
                self.advance()
                return Prim("ip_multicast", (_FAMILIES[proto],), f"{proto} multicast")
            if proto in _FAMILIES and self.is_word("protochain"):
                raise UsageError(f"filter column {self.tok.col}: 'protochain' is not supported (write "
                                 f"'{proto} proto N': ip_proto is already the protocol after the IPv6 extension "
                                 "headers)")
            if proto == "ip" and self.is_word("broadcast"):
                # tcpdump -r compiles it with netmask 0 (a file records none): destination 0.0.0.0 or
                # 255.255.255.255. A subnet's broadcast (A.B.C.255) is not known: write 'dst host A.B.C.255'.
                self.advance()
                return Prim("ip_broadcast", (), "ip broadcast")
            if proto in _FAMILIES and self.is_word("broadcast"):
                raise UsageError(f"filter column {start.col}: '{proto} broadcast' does not exist: IPv6 has no "
                                 "broadcast (libpcap refuses it too); write 'ip6 multicast' or 'dst net ff02::/16'")
            if self.is_word("proto"):
                self.advance()
                if proto not in _FAMILIES:
                    raise self.error(f"'proto' after '{proto}': expected 'ip proto' or 'ip6 proto'", start)
                n = self.proto_number()
                return Prim("proto", (_FAMILIES[proto], n), f"{proto} proto {n}")
        if self.is_word(*_DIRS):
            dir_ = self.advance().text.lower()
            if self.is_word("or", "and") and self.is_word(*_DIRS, k=1):
                joiner = self.advance().text.lower()
                self.advance()
                dir_ = f"src {joiner} dst"
        if self.is_word(*_TYPES):
            type_ = self.advance().text.lower()
        if proto == "ether" and type_ not in (None, "host"):
            raise self.error(f"'ether {type_}' is not valid: expected 'ether host', 'ether src' or 'ether dst'")
        if proto in _ETHERTYPES and type_ not in (None, "host", "net"):
            raise self.error(f"'{proto} {type_}' is not valid: expected '{proto} host' or '{proto} net'")
        if (proto in _PROTO_PRIMS or proto in _FAMILIES) and dir_ is None and type_ is None:
            if proto in _FAMILIES:
                return Prim("family", (_FAMILIES[proto],), proto)
            fam, num = _PROTO_PRIMS[proto]
            return Prim("proto", (fam, num), proto)
        if proto is None and dir_ is None and type_ is None:
            # A bare id: takes the qualifiers of the most recent primitive (host when there is none).
            if self.tok.kind != "word" or self.tok.text.lower() in KEYWORDS:
                raise self.error("expected a primitive (host, net, port, tcp, ip, vlan, ...)")
            if self.last is None:
                if _is_number(self.tok.text):
                    raise self.error("expected a keyword before the number (port, proto, vlan, ...)")
                qual = _Qual(None, None, "host")
            else:
                qual = self.last
        else:
            qual = _Qual(proto, dir_, type_ or "host")
        self.last = qual
        return self.id_for(qual)

    def id_for(self, q: _Qual) -> Prim:
        t = self.tok
        if t.kind != "word" or t.text.lower() in KEYWORDS - {"mask"}:
            raise self.error(f"expected {'a port' if 'port' in q.type else 'an address'} after '{q.type}'")
        self.advance()
        d = q.dir or "src or dst"
        dtext = "" if q.dir is None else q.dir + " "
        ptext = "" if q.proto is None else q.proto + " "
        if q.proto == "ether":
            return Prim("mac", (d, _parse_mac(t, self.expr)), f"ether {dtext}host {t.text.lower()}")
        if q.type in ("port", "portrange"):
            if q.proto is not None and q.proto not in _TRANSPORTS:
                raise UsageError(
                    f"filter column {t.col}: '{q.proto} {q.type}' is not valid: ports belong to "
                    "tcp, udp or sctp"
                )
            if q.type == "port":
                lo = hi = self.port(t)
                text = f"{ptext}{dtext}port {lo}"
            else:
                lo, hi = self.port_range(t)
                text = f"{ptext}{dtext}portrange {lo}-{hi}"
            return Prim("port", (q.proto, d, lo, hi), text)
        if q.proto is not None and q.proto not in _FAMILIES and q.proto not in _ETHERTYPES:
            raise UsageError(
                f"filter column {t.col}: '{q.proto} {q.type}' is not valid: write "
                f"'{q.type} ... and {q.proto}'"
            )
        family = _FAMILIES.get(q.proto, q.proto) if q.proto else None
        if family in _ETHERTYPES and ":" in t.text:
            raise UsageError(f"filter column {t.col}: '{q.proto} {q.type} {t.text}': ARP carries IPv4 addresses only")
        if q.type == "host":
            addr, version = self.address(t)
            if family in (4, 6) and family != version:
                raise UsageError(
                    f"filter column {t.col}: '{q.proto} host {t.text}': the address is IPv{version}"
                )
            return Prim("host", (family, d, addr, version), f"{ptext}{dtext}host {t.text}")
        # net
        text = t.text
        if self.is_word("mask"):
            self.advance()
            m = self.tok
            if m.kind != "word":
                raise self.error("expected a netmask after 'mask'")
            self.advance()
            text = f"{t.text} mask {m.text}"
        elif "/" not in text:
            text = _classful(t, self.expr)
        try:
            lo, hi = cidr_range(text)
            version = ipaddress.ip_network(text.replace(" mask ", "/"), strict=False).version
        except ValueError as exc:
            raise FilterSyntaxError(
                self.expr, t.col, f"expected a network (a.b.c.d/len or 'a.b.c.d mask m'): {exc}"
            ) from None
        if family is not None and family != version and not (family in _ETHERTYPES and version == 4):
            raise UsageError(f"filter column {t.col}: '{q.proto} net {text}': the network is IPv{version}")
        return Prim("net", (family, d, lo, hi, version), f"{ptext}{dtext}net {text}")

    # -- values
    def address(self, t: Token) -> tuple[int, int]:
        try:
            version = ipaddress.ip_address(t.text).version
        except ValueError:
            if "/" in t.text:
                raise FilterSyntaxError(
                    self.expr, t.col, "expected an address after 'host' (write 'net' for a CIDR block)"
                ) from None
            raise UsageError(
                f"filter column {t.col}: '{t.text}' is not an IP address; host names are not "
                "resolved offline, give the address"
            ) from None
        return ip_to_int(t.text), version

    def port(self, t: Token) -> int:
        text = t.text.lower()
        if _is_number(text):
            n = self.number(t, 65535)
            return n
        if text in SERVICES:
            return SERVICES[text]
        try:
            return socket.getservbyname(text)
        except OSError:
            raise FilterSyntaxError(
                self.expr, t.col, f"expected a port number or service name, found {t.text!r}"
            ) from None

    def port_range(self, t: Token) -> tuple[int, int]:
        parts = t.text.split("-")
        if len(parts) != 2 or not all(parts):
            raise FilterSyntaxError(
                self.expr, t.col, f"expected a port range like 1000-2000, found {t.text!r}"
            )
        lo, hi = (self.port(Token("word", p, t.col)) for p in parts)
        return (lo, hi) if lo <= hi else (hi, lo)

    def number(self, t: Token, maximum: int) -> int:
        n = _parse_number(t.text)
        if n is None:
            raise FilterSyntaxError(self.expr, t.col, f"expected a number, found {t.text!r}")
        if n > MAX_NUMBER:
            raise FilterSyntaxError(self.expr, t.col, f"number {t.text} is larger than 32 bits (libpcap's limit)")
        if n > maximum:
            raise FilterSyntaxError(self.expr, t.col, f"expected a number up to {maximum}, found {t.text!r}")
        return n

    def number_token(self, what: str) -> int:
        if self.tok.kind != "word" or _parse_number(self.tok.text) is None:
            raise self.error(what)
        return self.number(self.advance(), 0xFFFFFFFF)

    def proto_number(self) -> int:
        t = self.tok
        if t.kind == "word" and t.text.lower() in PROTO_NUMBERS:
            self.advance()
            return PROTO_NUMBERS[t.text.lower()]
        if t.kind == "word" and _is_number(t.text):
            return self.number(self.advance(), 255)
        raise self.error("expected a protocol number or name (tcp, udp, icmp, ...)")

    # -- relations: tcp[tcpflags] & tcp-syn != 0
    def relation(self) -> Prim:
        start = self.tok
        left = self.arith()
        if not (self.tok.kind == "op" and self.tok.text in RELOPS):
            raise _Backtrack()
        op = self.advance().text
        right = self.arith()
        text = self.expr[start.col - 1 : self.tok.col - 1].strip()
        return Prim("rel", ("==" if op == "=" else op, left, right), text)

    def arith(self, level: int = 0) -> Arith:
        levels = [("|", "^"), ("&",), ("<<", ">>"), ("+", "-"), ("*", "/", "%")]
        if level == len(levels):
            return self.atom()
        node = self.arith(level + 1)
        while self.tok.kind == "op" and self.tok.text in levels[level]:
            op = self.advance().text
            node = ("bin", op, node, self.arith(level + 1))
        return node

    def atom(self) -> Arith:
        t = self.tok
        if self.is_op("("):
            self.advance()
            node = self.arith()
            if not self.is_op(")"):
                raise _Backtrack()
            self.advance()
            return node
        if t.kind != "word":
            raise _Backtrack()
        w = t.text.lower()
        if w == "len":
            self.advance()
            return ("field", "len")
        if w in FLAG_NAMES:
            self.advance()
            return ("num", FLAG_NAMES[w])
        n = _parse_number(t.text)
        if n is not None:
            if n > MAX_NUMBER:
                raise FilterSyntaxError(self.expr, t.col, f"number {t.text} is larger than 32 bits (libpcap's limit)")
            self.advance()
            return ("num", n)
        if w in _FIELD_PROTOS and self.is_op("[", k=1):
            if w in _OTHER_LOAD_PROTOS:
                raise UsageError(f"filter column {t.col}: {w}[...] is not supported: the decoder does not locate "
                                 f"the {w} header; use --bpf")
            self.advance()
            self.advance()
            it = self.tok
            if it.kind == "word" and it.text.lower() in _FIELD_OFFSETS:
                self.advance()
                offset: Arith = ("num", _FIELD_OFFSETS[it.text.lower()])
            else:
                try:
                    offset = self.arith()
                except _Backtrack:
                    raise self.error("expected a byte offset or field name (tcpflags, icmptype, ...)", it) from None
            size = 1
            if self.is_op(":"):
                self.advance()
                size_tok = self.tok
                size = self.number_token("expected a size 1, 2 or 4")
                if size not in (1, 2, 4):
                    raise FilterSyntaxError(self.expr, size_tok.col, "data size must be 1, 2 or 4")
            self.expect_op("]")
            return ("load", "ether" if w == "link" else w, offset, size)
        raise _Backtrack()


def _parse_mac(t: Token, expr: str) -> bytes:
    """A MAC address as libpcap writes them: xx:xx:xx:xx:xx:xx (also with '-' or '.'), xxxx.xxxx.xxxx or
    12 hex digits."""
    text = t.text.lower()
    parts = None
    for sep in (":", "-", "."):
        if sep in text:
            parts = text.split(sep)
            break
    try:
        if parts is None and len(text) == 12:
            return bytes.fromhex(text)
        if parts and len(parts) == 6 and all(1 <= len(p) <= 2 for p in parts):
            return bytes(int(p, 16) for p in parts)
        if parts and len(parts) == 3 and all(len(p) == 4 for p in parts):
            return bytes.fromhex("".join(parts))
    except ValueError:
        pass
    raise FilterSyntaxError(expr, t.col, f"expected a MAC address (00:11:22:33:44:55), found {t.text!r}")


def _is_number(text: str) -> bool:
    return _parse_number(text) is not None


def _parse_number(text: str) -> int | None:
    """Decimal, 0x hex or 0-prefixed octal, as libpcap reads numbers."""
    t = text.lower()
    try:
        if t.startswith("0x") and len(t) > 2:
            return int(t[2:], 16)
        if t.startswith("0") and len(t) > 1 and t.isdigit():
            return int(t[1:], 8)
        if t.isdigit():
            return int(t)
    except ValueError:
        return None
    return None


def _classful(t: Token, expr: str) -> str:
    """pcap-filter's `net 10` / `net 192.168`: a partial dotted address is a /8, /16, /24 network."""
    parts = t.text.split(".")
    if ":" in t.text:
        return t.text + "/128"
    if not all(p.isdigit() for p in parts) or not 1 <= len(parts) <= 4:
        raise FilterSyntaxError(expr, t.col, f"expected a network (a.b.c.d/len), found {t.text!r}")
    return ".".join(parts + ["0"] * (4 - len(parts))) + f"/{8 * len(parts)}"


def parse_filter(expr: str) -> Node | None:
    """The syntax tree of `expr`; None for an empty expression (matches everything)."""
    if not expr.strip():
        return None
    parser = Parser(expr)
    depth = 0
    for tok in parser.tokens:
        depth += 1 if tok.kind == "op" and tok.text in ("(", "[") else 0
        depth -= 1 if tok.kind == "op" and tok.text in (")", "]") else 0
        if depth > MAX_NESTING:
            raise FilterSyntaxError(expr, tok.col, f"parentheses nested deeper than {MAX_NESTING}")
    try:
        return parser.parse()
    except RecursionError:
        raise FilterSyntaxError(expr, 1, "expression too deeply nested; simplify it") from None


def explain(node: Node | None) -> str:
    """Fully parenthesised text of a parse."""
    if node is None:
        return "(everything)"
    if isinstance(node, And):
        return f"({explain(node.left)} and {explain(node.right)})"
    if isinstance(node, Or):
        return f"({explain(node.left)} or {explain(node.right)})"
    if isinstance(node, Not):
        return f"(not {explain(node.operand)})"
    return node.text
