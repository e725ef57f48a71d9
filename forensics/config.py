"""The case config: `forensics.toml` next to the case database, or the file given with --config.

    [home]
    networks = ["10.0.0.0/8", "2001:db8::/32"]
    [subnetworks]
    lab = ["10.1.0.0/16"]
    [subnetwork_groups]
    campus = ["lab"]
    [applications]
    "WannaCry.attack" = "tcp/udp 135,137,138,139,445"
    [[interfaces]]
    name = "uplink"
    ifindex = 2
    boundary = true                     # faces the internet
    [server_farms]
    web = ["10.0.5.0/24"]
    [filters.wannacry_out]
    scope = "home"
    conditions = "src ip in HOME and dst app = WannaCry.attack"
    tcpdump = "tcp[tcpflags] & tcp-syn != 0"   # optional pcap-filter expression, ANDed
    [filter_groups]
    suspicious = ["wannacry_out"]
    [as_mapping]
    csv = "asn.csv"                     # prefix,asn,name; relative to this file
    [business_hours]
    days = ["mon", "tue", "wed", "thu", "fri"]
    start = "08:00"
    end = "18:00"
    [reports]
    queries = ["my_queries"]            # extra .sql report folders; relative to this file

With no config at all, home is the private and local ranges and WannaCry.attack is defined (DEFAULT_*).
Every problem is a UsageError naming the file, the key and what to write instead.
"""

from __future__ import annotations

import csv
import ipaddress
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from forensics.errors import UsageError
from forensics.netaddr import cidr_range

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "forensics.toml"
DEFAULT_HOME = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
DEFAULT_APPLICATIONS = {"WannaCry.attack": "tcp/udp 135,137,138,139,445"}
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "icmp6": 58, "sctp": 132}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCOPES = ("any", "home", "boundary", "subnetwork", "farm", "business", "after_hours")
_KNOWN_TABLES = ("home", "subnetworks", "subnetwork_groups", "applications", "interfaces", "server_farms",
                 "filters", "filter_groups", "as_mapping", "business_hours", "reports", "checks")


@dataclass(frozen=True)
class Net:
    """A CIDR block as the [lo, hi] range of the mapped address space."""

    cidr: str
    lo: int
    hi: int


@dataclass(frozen=True)
class AppPort:
    """One (protocol, port range) of an application signature."""

    proto: int
    port_lo: int
    port_hi: int


@dataclass(frozen=True)
class Interface:
    """An exporter interface: ifIndex, a name, whether it faces the internet."""

    ifindex: int
    name: str
    boundary: bool = False
    exporter: str | None = None


@dataclass(frozen=True)
class FilterDef:
    """A named filter: a scope plus conditions (parsed to a small tree, see parse_conditions)."""

    name: str
    scope: str
    conditions: str
    tree: tuple | None
    tcpdump: str | None = None  # a pcap-filter expression over the flows, ANDed with the conditions


@dataclass(frozen=True)
class AsPrefix:
    """One row of the AS mapping: prefix -> ASN and name."""

    net: Net
    asn: int
    name: str


@dataclass(frozen=True)
class BusinessHours:
    """Working days (0 = Monday) and the [start, end) minute of day, UTC."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    start_min: int = 8 * 60
    end_min: int = 18 * 60


@dataclass(frozen=True)
class CaseConfig:
    """Everything a report may need from the case config. `source` is the file, or None for defaults."""

    source: str | None = None
    home: tuple[Net, ...] = ()
    subnetworks: dict[str, tuple[Net, ...]] = field(default_factory=dict)
    subnetwork_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    applications: dict[str, tuple[AppPort, ...]] = field(default_factory=dict)
    interfaces: tuple[Interface, ...] = ()
    server_farms: dict[str, tuple[Net, ...]] = field(default_factory=dict)
    filters: dict[str, FilterDef] = field(default_factory=dict)
    filter_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    as_prefixes: tuple[AsPrefix, ...] = ()
    as_source: str | None = None
    business_hours: BusinessHours = BusinessHours()
    text: str = ""
    queries_dirs: tuple[str, ...] = ()

    def summary(self) -> dict:
        """A JSON-able description of the config used (recorded with each report)."""
        return {
            "source": self.source or "built-in defaults",
            "home": [n.cidr for n in self.home],
            "subnetworks": {k: [n.cidr for n in v] for k, v in self.subnetworks.items()},
            "subnetwork_groups": {k: list(v) for k, v in self.subnetwork_groups.items()},
            "applications": {k: [f"{a.proto}/{a.port_lo}-{a.port_hi}" for a in v]
                             for k, v in self.applications.items()},
            "interfaces": [{"ifindex": i.ifindex, "name": i.name, "boundary": i.boundary}
                           for i in self.interfaces],
            "server_farms": {k: [n.cidr for n in v] for k, v in self.server_farms.items()},
            "filters": {k: {"scope": f.scope, "conditions": f.conditions, "tcpdump": f.tcpdump}
                        for k, f in self.filters.items()},
            "filter_groups": {k: list(v) for k, v in self.filter_groups.items()},
            "as_mapping": self.as_source,
            "as_prefixes": len(self.as_prefixes),
            "queries": list(self.queries_dirs),
            "business_hours": {"days": [DAYS[d] for d in self.business_hours.days],
                               "start_min": self.business_hours.start_min,
                               "end_min": self.business_hours.end_min},
        }


def _err(where: str, what: str) -> UsageError:
    return UsageError(f"{where}: {what}")


def parse_nets(values: object, where: str) -> tuple[Net, ...]:
    """A list of CIDR strings -> Nets; UsageError naming `where` for a bad one."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        raise _err(where, "expected a list of CIDR blocks such as [\"10.0.0.0/8\"]")
    nets = []
    for text in values:
        try:
            lo, hi = cidr_range(str(text))
        except ValueError:
            raise _err(where, f"{text!r} is not a CIDR block (write e.g. \"10.1.0.0/16\")") from None
        nets.append(Net(str(ipaddress.ip_network(str(text).strip(), strict=False)), lo, hi))
    return tuple(nets)


def parse_signature(text: str, where: str) -> tuple[AppPort, ...]:
    """'tcp/udp 135,137-139,445' -> AppPorts (one per protocol and port range)."""
    parts = str(text).split()
    if len(parts) != 2:
        raise _err(where, f"{text!r}: expected 'PROTO[/PROTO] PORT[,PORT|LO-HI...]', e.g. 'tcp/udp 135,445'")
    protos = []
    for name in parts[0].lower().split("/"):
        if name.isdigit() and int(name) < 256:
            protos.append(int(name))
        elif name in PROTOCOLS:
            protos.append(PROTOCOLS[name])
        else:
            raise _err(where, f"{name!r} is not a protocol ({', '.join(PROTOCOLS)} or a number)")
    ports = []
    for item in parts[1].split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", item.strip())
        if not match:
            raise _err(where, f"{item!r} is not a port or LO-HI range")
        lo = int(match.group(1))
        hi = int(match.group(2) or lo)
        if not 0 <= lo <= hi <= 65535:
            raise _err(where, f"{item!r} is outside 0-65535")
        ports.append((lo, hi))
    return tuple(AppPort(p, lo, hi) for p in protos for lo, hi in ports)


# --- filter conditions ------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(\(|\)|!=|=|[A-Za-z0-9_.:/\-]+)")


def parse_conditions(text: str, where: str) -> tuple:
    """'src ip in HOME and dst app = WannaCry.attack' -> tree of tuples.

    Grammar: expr := conj ('or' conj)*; conj := unary ('and' unary)*;
    unary := 'not' unary | '(' expr ')' | term.
    Terms: [src|dst] ip in NAME|CIDR; [src|dst] app = NAME; proto = tcp|udp|N; [src|dst] port = N;
    [src|dst] as = N; vlan = N; in_if = N; out_if = N. `=` may be `!=`. Without src/dst: either side.
    Nodes: ('and', a, b), ('or', a, b), ('not', a), ('ip', side, name), ('app', side, name),
    ('proto', n), ('port', side, n), ('as', side, n), ('field', column, n); ('ne', node) wraps `!=`.
    """
    tokens = []
    pos = 0
    text = str(text)
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            if text[pos:].strip() == "":
                break
            raise _err(where, f"condition column {pos + 1}: unexpected {text[pos:pos + 10]!r}")
        tokens.append((match.group(1), match.start(1) + 1))
        pos = match.end()
    state = {"i": 0}

    def peek() -> str | None:
        return tokens[state["i"]][0].lower() if state["i"] < len(tokens) else None

    def take(expected: str | None = None) -> str:
        if state["i"] >= len(tokens):
            hint = f"; expected {expected!r}" if expected else ""
            raise _err(where, f"condition {text!r} ends early{hint}")
        tok, col = tokens[state["i"]]
        if expected is not None and tok.lower() != expected:
            raise _err(where, f"condition column {col}: expected {expected!r}, found {tok!r}")
        state["i"] += 1
        return tok

    def number(tok: str) -> int:
        if not tok.isdigit():
            raise _err(where, f"condition: {tok!r} is not a number")
        return int(tok)

    def term() -> tuple:
        side = "any"
        if peek() in ("src", "dst"):
            side = take().lower()
        word = take().lower()
        if word == "ip":
            take("in")
            return ("ip", side, take())
        if word in ("proto", "app", "port", "as", "vlan", "in_if", "out_if"):
            op = take()
            if op not in ("=", "!="):
                raise _err(where, f"condition: expected '=' or '!=' after {word!r}, found {op!r}")
            value = take()
            if word == "app":
                node: tuple = ("app", side, value)
            elif word == "proto":
                proto = PROTOCOLS.get(value.lower())
                node = ("proto", proto if proto is not None else number(value))
            elif word in ("port", "as"):
                node = (word, side, number(value))
            else:
                node = ("field", word, number(value))
            return ("not", node) if op == "!=" else node
        raise _err(where, f"condition: unknown term {word!r} (ip, app, proto, port, as, vlan, in_if, out_if)")

    def unary() -> tuple:
        if peek() == "not":
            take()
            return ("not", unary())
        if peek() == "(":
            take()
            node = expr()
            take(")")
            return node
        return term()

    def conj() -> tuple:
        node = unary()
        while peek() == "and":
            take()
            node = ("and", node, unary())
        return node

    def expr() -> tuple:
        node = conj()
        while peek() == "or":
            take()
            node = ("or", node, conj())
        return node

    if not tokens:
        raise _err(where, "empty condition")
    tree = expr()
    if state["i"] != len(tokens):
        tok, col = tokens[state["i"]]
        raise _err(where, f"condition column {col}: unexpected {tok!r}")
    return tree


# --- loading -------------------------------------------------------------------------------------------

def _read_as_csv(path: Path) -> tuple[AsPrefix, ...]:
    rows = []
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the AS mapping: {exc.strerror}") from None
    with handle:
        for lineno, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().startswith("#") or row[0].strip().lower() == "prefix":
                continue
            if len(row) < 2:
                raise UsageError(f"{path}:{lineno}: expected 'prefix,asn,name'")
            net = parse_nets([row[0]], f"{path}:{lineno}")[0]
            asn_text = row[1].strip().upper().removeprefix("AS")
            if not asn_text.isdigit():
                raise UsageError(f"{path}:{lineno}: ASN {row[1]!r} is not a number")
            rows.append(AsPrefix(net, int(asn_text), row[2].strip() if len(row) > 2 else ""))
    return tuple(rows)


def _minutes(text: object, where: str) -> int:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(text).strip())
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59:
        raise _err(where, f"{text!r} is not a time of day HH:MM")
    return int(match.group(1)) * 60 + int(match.group(2))


def default_config() -> CaseConfig:
    """The config used when there is no forensics.toml: private/local home ranges, WannaCry.attack."""
    return CaseConfig(
        home=parse_nets(list(DEFAULT_HOME), "defaults"),
        applications={k: parse_signature(v, "defaults") for k, v in DEFAULT_APPLICATIONS.items()},
    )


def _table(doc: dict, key: str, where: str) -> dict:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise _err(where, f"[{key}] must be a table")
    return value


def config_from_text(text: str, source: str = "<text>", base: Path | None = None) -> CaseConfig:
    """Parse config TOML text; relative file names (AS mapping) resolve against `base`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML: {exc}") from None
    for key in doc:
        if key not in _KNOWN_TABLES:
            raise _err(source, f"unknown section [{key}] (known: {', '.join(_KNOWN_TABLES)})")
    defaults = default_config()
    home_tab = _table(doc, "home", source)
    home = (parse_nets(home_tab["networks"], f"{source} [home] networks")
            if "networks" in home_tab else defaults.home)
    subnets = {k: parse_nets(v, f"{source} [subnetworks] {k}")
               for k, v in _table(doc, "subnetworks", source).items()}
    groups = {}
    for gname, members in _table(doc, "subnetwork_groups", source).items():
        members = tuple(members) if isinstance(members, list) else (members,)
        for member in members:
            if member not in subnets:
                raise _err(source, f"[subnetwork_groups] {gname}: {member!r} is not a subnetwork")
        groups[gname] = members
    apps = dict(defaults.applications)
    for aname, sig in _table(doc, "applications", source).items():
        apps[aname] = parse_signature(sig, f"{source} [applications] {aname}")
    ifaces = []
    raw_ifaces = doc.get("interfaces", [])
    if not isinstance(raw_ifaces, list):
        raise _err(source, "interfaces must be an array of tables: [[interfaces]] ifindex = 2 ...")
    for i, item in enumerate(raw_ifaces):
        if not isinstance(item, dict) or not isinstance(item.get("ifindex"), int):
            raise _err(source, f"[[interfaces]] #{i + 1}: needs an integer ifindex")
        ifaces.append(Interface(item["ifindex"], str(item.get("name", item["ifindex"])),
                                bool(item.get("boundary", False)), item.get("exporter")))
    farms = {k: parse_nets(v, f"{source} [server_farms] {k}")
             for k, v in _table(doc, "server_farms", source).items()}
    filters = {}
    for fname, fdef in _table(doc, "filters", source).items():
        where = f"{source} [filters.{fname}]"
        if isinstance(fdef, str):
            fdef = {"conditions": fdef}
        if not isinstance(fdef, dict):
            raise _err(where, "expected a table with scope and conditions")
        scope = str(fdef.get("scope", "any"))
        _check_scope(scope, where, subnets, groups, farms)
        cond = str(fdef.get("conditions", "")).strip()
        tree = parse_conditions(cond, where) if cond else None
        expr = fdef.get("tcpdump")
        if expr is not None and not isinstance(expr, str):
            raise _err(where, "tcpdump must be a string such as \"tcp dst port 445\"")
        filters[fname] = FilterDef(fname, scope, cond, tree, expr.strip() if expr else None)
    fgroups = {}
    for gname, members in _table(doc, "filter_groups", source).items():
        members = tuple(members) if isinstance(members, list) else (members,)
        for member in members:
            if member not in filters:
                raise _err(source, f"[filter_groups] {gname}: {member!r} is not a filter")
        fgroups[gname] = members
    as_tab = _table(doc, "as_mapping", source)
    as_prefixes: tuple[AsPrefix, ...] = ()
    as_source = None
    if "csv" in as_tab:
        as_path = Path(as_tab["csv"])
        if not as_path.is_absolute() and base is not None:
            as_path = base / as_path
        as_prefixes = _read_as_csv(as_path)
        as_source = str(as_path)
    for key in as_tab:
        if key != "csv":
            raise _err(source, f"[as_mapping] {key}: only 'csv' (prefix,asn,name) is read in this version")
    bh_tab = _table(doc, "business_hours", source)
    days = defaults.business_hours.days
    if "days" in bh_tab:
        try:
            days = tuple(DAYS.index(str(d).lower()[:3]) for d in bh_tab["days"])
        except ValueError:
            raise _err(source, f"[business_hours] days: use {', '.join(DAYS)}") from None
    hours = BusinessHours(days, _minutes(bh_tab.get("start", "08:00"), f"{source} [business_hours] start"),
                          _minutes(bh_tab.get("end", "18:00"), f"{source} [business_hours] end"))
    rep_tab = _table(doc, "reports", source)
    queries = rep_tab.get("queries", [])
    if isinstance(queries, str):
        queries = [queries]
    if not isinstance(queries, list) or set(rep_tab) - {"queries"}:
        raise _err(source, "[reports]: only queries = [\"folder\", ...] is read")
    dirs = tuple(str(base / q) if base is not None and not Path(q).is_absolute() else str(q) for q in queries)
    return CaseConfig(source, home, subnets, groups, apps, tuple(ifaces), farms, filters, fgroups,
                      as_prefixes, as_source, hours, text, dirs)


def _check_scope(scope: str, where: str, subnets: dict, groups: dict, farms: dict) -> None:
    kind, _, name = scope.partition(":")
    if kind not in SCOPES:
        raise _err(where, f"scope {scope!r}: use one of {', '.join(SCOPES)} (subnetwork:NAME, farm:NAME)")
    if kind == "subnetwork" and name not in subnets and name not in groups:
        raise _err(where, f"scope {scope!r}: no subnetwork or group {name!r}")
    if kind == "farm" and name not in farms:
        raise _err(where, f"scope {scope!r}: no server farm {name!r}")


def load_config(config_path: str | Path | None = None, db_path: str | Path | None = None) -> CaseConfig:
    """--config FILE if given, else forensics.toml next to the case database, else the defaults."""
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise UsageError(f"{path}: no such config file. Check --config, or omit it to use the defaults")
    elif db_path is not None and str(db_path) != ":memory:" \
            and (Path(db_path).parent / CONFIG_NAME).is_file():
        path = Path(db_path).parent / CONFIG_NAME
    else:
        return default_config()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config: {exc}") from None
    return config_from_text(text, str(path), path.parent)
