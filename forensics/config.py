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
    timezone = "Europe/Rome"            # IANA name; start/end are local time there (default UTC)
    [reports]
    queries = ["my_queries"]            # extra .sql report folders; relative to this file
    checks_dirs = ["my_checks"]         # extra check folders (.sql, .py, plugins; docs/checks.md); relative to it
    [checks.syn_scan]                   # thresholds of one check: any keys, validated by the check runner
    min_ports = 100                     #   against that check's declared parameters
    [serve]                             # `forensics serve` users (HTTP Basic): bcrypt hashes only, never text
    users_file = "users.htpasswd"       #   name:bcrypt-hash a line (htpasswd -B); relative to this file
    [serve.users]                       #   and/or inline; the hashes never appear in a report's JSON
    alice = "$2b$12$..."

With no config at all, home is the private and local ranges and WannaCry.attack is defined (DEFAULT_*).
The accepted sections and keys are declared once, in SECTIONS below: an unknown section or key (a typo
such as `[home] network`), a value of the wrong type, a bad CIDR block, time or time zone is a UsageError
'FILE:LINE: [section] key: what is wrong' (exit 2). A file the config names must be a regular file of at
most MAX_CONFIG_FILE_BYTES (256 MiB): devices, FIFOs and folders are refused without being opened.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import ipaddress
import json
import os
import re
import stat
import sys
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from forensics.config_defaults import CONFIG_NAME as CONFIG_NAME  # (re-exported: where callers import it)
from forensics.config_defaults import DEFAULT_HOME, case_config_file
from forensics.errors import UsageError
from forensics.netaddr import cidr_range

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_APPLICATIONS = {"WannaCry.attack": "tcp/udp 135,137,138,139,445"}
PROTOCOLS = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "icmp6": 58, "sctp": 132}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCOPES = ("any", "home", "boundary", "subnetwork", "farm", "business", "after_hours")


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
    """Working days (0 = Monday) and the [start, end) minute of day, local time in `timezone` (IANA name)."""

    days: tuple[int, ...] = (0, 1, 2, 3, 4)
    start_min: int = 8 * 60
    end_min: int = 18 * 60
    timezone: str = "UTC"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The time zone the hours are in (validated when the config was read)."""
        return zoneinfo.ZoneInfo(self.timezone)


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
    text: str = field(default="", repr=False)  # the TOML as written ([serve.users] hashes too): not in repr
    queries_dirs: tuple[str, ...] = ()
    checks: dict[str, dict] = field(default_factory=dict)  # [checks.NAME] tables as written (raw values)
    # [serve] users: name -> bcrypt hash, and the users file named there. Kept out of summary() (copied into
    # every report's JSON) and out of repr: a hash is a secret's stand-in, not something to publish.
    serve_users: dict[str, str] = field(default_factory=dict, repr=False)
    serve_users_file: str | None = None
    # [retain] raw / flows: how far back packets / flows are kept, in seconds (None: kept for ever)
    retain_raw_secs: int | None = None
    retain_flows_secs: int | None = None

    def where(self, *path: str | int) -> str:
        """'FILE:LINE: [section] key' for a place in this config, for errors found later (check parameters):
        config.where("checks", "syn_scan", "min_ports") -> 'forensics.toml:12: [checks.syn_scan] min_ports'."""
        line = TextPlaces(self.text).line(tuple(path)) if self.text else None
        source = self.source or "built-in defaults"
        return f"{source}:{line}: {place_label(tuple(path))}" if line else f"{source}: {place_label(tuple(path))}"

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
                               "end_min": self.business_hours.end_min,
                               "timezone": self.business_hours.timezone},
            # TOML dates and times become text: the summary is written into JSON as it is
            "checks": json.loads(json.dumps(self.checks, default=str)),
            # how many users, never their hashes
            "serve": {"users": len(self.serve_users), "users_file": self.serve_users_file},
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


# --- the accepted sections and keys: ONE table ---------------------------------------------------------

# A file the config names (the AS mapping CSV, the config itself) must be a regular file of at most this
# size: a device (/dev/zero, /dev/urandom), a FIFO or a folder is refused before it is opened, so loading
# never blocks and never reads without end. 256 MiB holds a full-table AS mapping (about 1.2 M prefixes,
# ~40 MB as CSV) several times over.
MAX_CONFIG_FILE_BYTES = 256 * 1024 * 1024

# Every section the config accepts, with its shape and the type of each value:
#   ("keys", {key: type})    a table with these keys only
#   ("named", type)          a table of names the analyst chooses, each holding a value of this type
#   ("named_tables", {k: t}) a table of names the analyst chooses, each a table with these keys
#                            ([filters.NAME]; a bare string is short for its conditions)
#   ("array", {key: type})   an array of tables, [[section]], with these keys only
#   ("any", None)            sub-tables [section.NAME] whose keys are validated by their owner: [checks.NAME]
#                            holds a check's thresholds, checked against the check's declared parameters
# Types: cidrs, names, folders (a string or an array of strings), signature, str, int, bool, days, time,
# timezone, file, duration ("30d": see parse_duration).
SECTIONS: dict[str, tuple[str, object]] = {
    "home": ("keys", {"networks": "cidrs"}),
    "subnetworks": ("named", "cidrs"),
    "subnetwork_groups": ("named", "names"),
    "applications": ("named", "signature"),
    "interfaces": ("array", {"ifindex": "int", "name": "str", "boundary": "bool", "exporter": "str"}),
    "server_farms": ("named", "cidrs"),
    "filters": ("named_tables", {"scope": "str", "conditions": "str", "tcpdump": "str"}),
    "filter_groups": ("named", "names"),
    "as_mapping": ("keys", {"csv": "file"}),
    "business_hours": ("keys", {"days": "days", "start": "time", "end": "time", "timezone": "timezone"}),
    "reports": ("keys", {"queries": "folders", "checks_dirs": "folders"}),
    "checks": ("any", None),
    "serve": ("keys", {"users_file": "file", "users": "hashes"}),
    "retain": ("keys", {"raw": "duration", "flows": "duration"}),
}
_EXPECTED = {
    "cidrs": 'a list of CIDR blocks such as ["10.0.0.0/8"]',
    "names": 'a list of names such as ["lab", "office"]',
    "folders": 'a list of folders such as ["my_queries"]',
    "signature": "a string such as \"tcp/udp 135,445\"",
    "str": "a string",
    "int": "a whole number >= 0",
    "bool": "true or false",
    "days": 'a list of days such as ["mon", "tue"]',
    "time": 'a time of day as a string such as "08:00"',
    "timezone": 'an IANA time zone as a string such as "Europe/Rome"',
    "file": 'a file name as a string such as "asn.csv"',
    "hashes": 'a table of bcrypt hashes: [serve.users] then alice = "$2b$12$..." (htpasswd -B)',
    "duration": 'a duration as a string such as "30d", "12h", "90min" or "2w"',
}


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"{type(value).__name__} {value}"


def _type_ok(kind: str, value: object) -> bool:
    if kind in ("cidrs", "names", "folders"):
        return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
    if kind == "days":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "time":
        return isinstance(value, (str, dt.time))
    if kind == "hashes":
        return isinstance(value, dict)
    if kind == "duration":
        return isinstance(value, str) and parse_duration(value) is not None
    return isinstance(value, str)


# --- where in the text: tomllib gives no line numbers, so the lines are scanned for headers and keys ------

_KEY = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER_RE = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]")
_KEYLINE_RE = re.compile(rf"^\s*({_DOTTED})\s*=")


def _key_parts(dotted: str) -> tuple[str, ...]:
    parts = re.findall(_KEY, dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


class TextPlaces:
    """Line numbers of the tables and keys of TOML text: place(("home", "networks")) -> 2.

    Paths are tuples of names; an array of tables counts its entries: ("interfaces", 0, "ifindex").
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.entries: list[tuple[tuple, int, bool]] = []  # (path, line, is a header)
        current: tuple = ()
        arrays: dict[tuple, int] = {}
        for number, line in enumerate(self.lines, start=1):
            header = _HEADER_RE.match(line)
            if header:
                names = _key_parts(header.group(2))
                if header.group(1) == "[[":
                    arrays[names] = arrays.get(names, -1) + 1
                    current = (*names, arrays[names])
                else:
                    current = names
                self.entries.append((current, number, True))
                continue
            key = _KEYLINE_RE.match(line)
            if key:
                self.entries.append(((*current, *_key_parts(key.group(1))), number, False))

    def line(self, path: tuple, value: object = None) -> int | None:
        """The line that holds `path` (or its nearest enclosing table); with `value`, the line of that value."""
        found = None
        for i, (entry, _, _) in enumerate(self.entries):
            if entry == path:
                found = i
                break
        if found is None:
            found = next((i for i, (entry, _, _) in enumerate(self.entries) if entry[:len(path)] == path), None)
        if found is None:
            for cut in range(len(path) - 1, 0, -1):
                found = next((i for i, (entry, _, _) in enumerate(self.entries) if entry == path[:cut]), None)
                if found is not None:
                    break
        if found is None:
            return None
        start = self.entries[found][1]
        if value is None or not isinstance(value, str) or not value:
            return start
        stop = next((n for _, n, is_header in self.entries[found + 1:] if is_header), len(self.lines) + 1)
        for needle in (f'"{value}"', f"'{value}'", value):  # the quoted value first: "10" is in "10.1.0.0/16"
            hit = next((n for n in range(start, stop) if needle in self.lines[n - 1]), None)
            if hit is not None:
                return hit
        return start


def place_label(path: tuple) -> str:
    """("home", "networks") -> '[home] networks'; ("interfaces", 1, "ifindex") -> '[[interfaces]] #2 ifindex'."""
    if len(path) >= 2 and isinstance(path[1], int):
        rest = " ".join(str(p) for p in path[2:])
        return f"[[{path[0]}]] #{path[1] + 1}" + (f" {rest}" if rest else "")
    if len(path) == 1:
        return f"[{path[0]}]"
    return f"[{'.'.join(str(p) for p in path[:-1])}] {path[-1]}"


class _Places:
    """Builds the 'file:line: [section] key' prefix of every config error."""

    def __init__(self, text: str, source: str) -> None:
        self.places = TextPlaces(text)
        self.source = source

    def at(self, path: tuple, value: object = None) -> str:
        line = self.places.line(path, value)
        return f"{self.source}:{line}: {place_label(path)}" if line else f"{self.source}: {place_label(path)}"

    def error(self, path: tuple, what: str, value: object = None) -> UsageError:
        return UsageError(f"{self.at(path, value)}: {what}")


def _check_shape(doc: dict, places: _Places) -> None:
    """Unknown sections and keys, and values of the wrong type, before anything is interpreted."""
    for section, body in doc.items():
        if section not in SECTIONS:
            line = places.places.line((section,))
            where = f"{places.source}:{line}" if line else places.source
            close = difflib.get_close_matches(section, SECTIONS, n=1)
            hint = f"did you mean [{close[0]}]? " if close else ""
            raise UsageError(f"{where}: unknown section [{section}] ({hint}known: "
                             f"{', '.join(SECTIONS)})")
        shape, spec = SECTIONS[section]
        if shape == "array":
            if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
                raise places.error((section,), f"write it as an array of tables: [[{section}]] then its keys")
            for index, item in enumerate(body):
                _check_keys(item, spec, (section, index), places)
            continue
        if not isinstance(body, dict):
            raise places.error((section,), f"must be a table: [{section}] on a line of its own, then its keys")
        if shape == "keys":
            _check_keys(body, spec, (section,), places)
        elif shape == "named":
            for name, value in body.items():
                if not _type_ok(spec, value):
                    raise places.error((section, name), f"expected {_EXPECTED[spec]}, found {_toml_type(value)}")
        elif shape == "named_tables":
            for name, value in body.items():
                if isinstance(value, dict):
                    _check_keys(value, spec, (section, name), places)
                elif not isinstance(value, str):
                    raise places.error((section, name), f"expected a table [{section}.{name}] with keys "
                                                        f"{', '.join(spec)}, found {_toml_type(value)}")
        else:  # "any": sub-tables only, whose keys their owner validates
            for name, value in body.items():
                if not isinstance(value, dict):
                    raise places.error((section, name), f"put values in a sub-table: [{section}.NAME] then "
                                                        f"key = value (found {_toml_type(value)})")


def _check_keys(table: dict, spec: dict, path: tuple, places: _Places) -> None:
    for key, value in table.items():
        if key not in spec:
            close = difflib.get_close_matches(key, spec, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise places.error((*path, key), f"unknown key ({hint}known: {', '.join(spec)})")
        if not _type_ok(spec[key], value):
            raise places.error((*path, key), f"expected {_EXPECTED[spec[key]]}, found {_toml_type(value)}")


# --- loading -------------------------------------------------------------------------------------------

def regular_file(path: Path, where: str) -> Path:
    """`path` if it is a regular file of at most MAX_CONFIG_FILE_BYTES; else a UsageError naming `where`.

    Devices, FIFOs, sockets and folders are refused from stat() alone: nothing is opened, so nothing blocks.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise UsageError(f"{where}: {path}: {exc.strerror or 'cannot be read'}; name an existing file") from None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"))
    for test, what in kinds:
        if test(info.st_mode):
            raise UsageError(f"{where}: {path} is {what}, not a regular file; name a regular file")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{where}: {path} is not a regular file; name a regular file")
    if info.st_size > MAX_CONFIG_FILE_BYTES:
        raise UsageError(f"{where}: {path} is {info.st_size:,} bytes, over the {MAX_CONFIG_FILE_BYTES // 2**20} "
                         "MiB allowed for a file the config names; name a smaller file")
    return path


def _read_as_csv(path: Path, where: str = "[as_mapping] csv") -> tuple[AsPrefix, ...]:
    rows = []
    regular_file(path, where)
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise UsageError(f"{where}: {path}: cannot read the AS mapping: {exc.strerror}") from None
    with handle:
        try:
            for lineno, row in enumerate(csv.reader(handle), start=1):
                if not row or row[0].strip().startswith("#") or row[0].strip().lower() == "prefix":
                    continue
                if len(row) < 2:
                    raise UsageError(f"{path}:{lineno}: expected 'prefix,asn,name'")
                net = parse_nets([row[0]], f"{path}:{lineno}")[0]
                asn_text = row[1].strip().upper().removeprefix("AS")
                if not asn_text.isdigit() or int(asn_text) > 0xFFFFFFFF:
                    raise UsageError(f"{path}:{lineno}: ASN {row[1]!r} is not a number (0 to 4294967295)")
                rows.append(AsPrefix(net, int(asn_text), row[2].strip() if len(row) > 2 else ""))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UsageError(f"{where}: {path}: not a UTF-8 CSV of prefix,asn,name ({exc}); "
                             "name the AS mapping CSV") from None
    return tuple(rows)


def _minutes(text: object, where: str) -> int:
    if isinstance(text, dt.time):
        text = text.strftime("%H:%M")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(text).strip())
    if not match or int(match.group(1)) > 24 or int(match.group(2)) > 59 \
            or int(match.group(1)) * 60 + int(match.group(2)) > 24 * 60:
        raise _err(where, f"{text!r} is not a time of day HH:MM")
    return int(match.group(1)) * 60 + int(match.group(2))


def _timezone(name: str, where: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise _err(where, f"{name!r} is not an IANA time zone (write e.g. \"Europe/Rome\" or \"UTC\")") from None
    return name


def default_config() -> CaseConfig:
    """The config used when there is no forensics.toml: private/local home ranges, WannaCry.attack."""
    return CaseConfig(
        home=parse_nets(list(DEFAULT_HOME), "defaults"),
        applications={k: parse_signature(v, "defaults") for k, v in DEFAULT_APPLICATIONS.items()},
    )


def _list(value: object) -> list:
    return [value] if isinstance(value, str) else list(value)


def config_from_text(text: str, source: str = "<text>", base: Path | None = None) -> CaseConfig:
    """Parse config TOML text; relative file names (AS mapping) resolve against `base`.

    Every problem is a UsageError 'FILE:LINE: [section] key: what is wrong and what to write'.
    """
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML: {exc}") from None
    places = _Places(text, source)
    _check_shape(doc, places)
    defaults = default_config()
    home_tab = doc.get("home", {})
    home = (parse_nets(home_tab["networks"], places.at(("home", "networks"), _bad_cidr(home_tab["networks"])))
            if "networks" in home_tab else defaults.home)
    subnets = {k: parse_nets(v, places.at(("subnetworks", k), _bad_cidr(v)))
               for k, v in doc.get("subnetworks", {}).items()}
    groups = {}
    for gname, members in doc.get("subnetwork_groups", {}).items():
        for member in _list(members):
            if member not in subnets:
                raise places.error(("subnetwork_groups", gname), f"{member!r} is not a subnetwork", member)
        groups[gname] = tuple(_list(members))
    apps = dict(defaults.applications)
    for aname, sig in doc.get("applications", {}).items():
        apps[aname] = parse_signature(sig, places.at(("applications", aname)))
    ifaces = []
    for i, item in enumerate(doc.get("interfaces", [])):
        if "ifindex" not in item:
            raise places.error(("interfaces", i), "needs an ifindex (a whole number)")
        ifaces.append(Interface(item["ifindex"], str(item.get("name", item["ifindex"])),
                                bool(item.get("boundary", False)), item.get("exporter")))
    farms = {k: parse_nets(v, places.at(("server_farms", k), _bad_cidr(v)))
             for k, v in doc.get("server_farms", {}).items()}
    filters = {}
    for fname, fdef in doc.get("filters", {}).items():
        if isinstance(fdef, str):
            fdef = {"conditions": fdef}
            where_cond = where_scope = places.at(("filters", fname))
        else:
            where_cond = places.at(("filters", fname, "conditions"))
            where_scope = places.at(("filters", fname, "scope"))
        scope = str(fdef.get("scope", "any"))
        _check_scope(scope, where_scope, subnets, groups, farms)
        cond = str(fdef.get("conditions", "")).strip()
        tree = parse_conditions(cond, where_cond) if cond else None
        expr = fdef.get("tcpdump")
        filters[fname] = FilterDef(fname, scope, cond, tree, expr.strip() if expr else None)
    fgroups = {}
    for gname, members in doc.get("filter_groups", {}).items():
        for member in _list(members):
            if member not in filters:
                raise places.error(("filter_groups", gname), f"{member!r} is not a filter", member)
        fgroups[gname] = tuple(_list(members))
    as_tab = doc.get("as_mapping", {})
    as_prefixes: tuple[AsPrefix, ...] = ()
    as_source = None
    if "csv" in as_tab:
        as_path = Path(as_tab["csv"])
        if not as_path.is_absolute() and base is not None:
            as_path = base / as_path
        as_prefixes = _read_as_csv(as_path, places.at(("as_mapping", "csv")))
        as_source = str(as_path)
    bh_tab = doc.get("business_hours", {})
    days = defaults.business_hours.days
    if "days" in bh_tab:
        try:
            days = tuple(DAYS.index(str(d).lower()[:3]) for d in bh_tab["days"])
        except ValueError:
            raise places.error(("business_hours", "days"), f"use {', '.join(DAYS)}") from None
    tz_name = _timezone(bh_tab["timezone"], places.at(("business_hours", "timezone"))) \
        if "timezone" in bh_tab else "UTC"
    hours = BusinessHours(days, _minutes(bh_tab.get("start", "08:00"), places.at(("business_hours", "start"))),
                          _minutes(bh_tab.get("end", "18:00"), places.at(("business_hours", "end"))), tz_name)
    if hours.end_min <= hours.start_min:
        raise places.error(("business_hours", "end"), f"must be after start ({bh_tab.get('start', '08:00')}): "
                                                      "business hours lie within one day (\"24:00\" is midnight)")
    dirs = []
    for folder in _list(doc.get("reports", {}).get("queries", [])):
        path = base / folder if base is not None and not Path(folder).is_absolute() else Path(folder)
        if not path.is_dir():
            what = "does not exist" if not os.path.lexists(path) else "is not a folder"
            raise places.error(("reports", "queries"), f"{str(path)!r} {what}; name a folder of .sql reports",
                               folder)
        dirs.append(str(path))
    users, users_file = _serve_users(doc.get("serve", {}), places, base)
    keep = doc.get("retain", {})
    return CaseConfig(source, home, subnets, groups, apps, tuple(ifaces), farms, filters, fgroups,
                      as_prefixes, as_source, hours, text, tuple(dirs), dict(doc.get("checks", {})),
                      serve_users=users, serve_users_file=users_file,
                      retain_raw_secs=parse_duration(keep["raw"]) if "raw" in keep else None,
                      retain_flows_secs=parse_duration(keep["flows"]) if "flows" in keep else None)


_DURATION_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400,
                   "w": 7 * 86400, "week": 7 * 86400}
# The longest retention window accepted: 100 years (beyond it the cutoff would leave the calendar).
MAX_DURATION_SECS = 36_500 * 86400


def parse_duration(text: object) -> int | None:
    """'30d', '12h', '90min', '2w', '3600s' -> seconds (> 0, at most MAX_DURATION_SECS); None when not one."""
    match = re.fullmatch(r"\s*(\d{1,9})\s*([a-z]+)\s*", str(text).lower())
    if not match or match.group(2) not in _DURATION_UNITS:
        return None
    secs = int(match.group(1)) * _DURATION_UNITS[match.group(2)]
    return secs if 0 < secs <= MAX_DURATION_SECS else None


# A bcrypt hash as htpasswd -B and bcrypt.hashpw write it: $2a$/$2b$/$2y$, cost, 53 characters of salt+hash.
BCRYPT_HASH = re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}")


def _serve_users(table: dict, places: _Places, base: Path | None) -> tuple[dict[str, str], str | None]:
    """[serve] users (name -> bcrypt hash; anything else, plain text above all, refused) and users_file
    (checked to be a regular file here; its lines are read by forensics.serve.auth)."""
    users = {}
    for name, value in table.get("users", {}).items():
        if not isinstance(value, str) or not BCRYPT_HASH.fullmatch(value):
            raise places.error(("serve", "users", name), "not a bcrypt hash (plain text and other hashes are "
                                                         "refused); make one with htpasswd -nB NAME")
        users[str(name)] = value
    users_file = None
    if "users_file" in table:
        path = Path(table["users_file"])
        if not path.is_absolute() and base is not None:
            path = base / path
        users_file = str(regular_file(path, places.at(("serve", "users_file"))))
    return users, users_file


def _bad_cidr(values: object) -> str | None:
    """The first value that is not a CIDR block (so the error can point at its line), else None."""
    for text in _list(values):
        try:
            cidr_range(str(text))
        except ValueError:
            return str(text)
    return None


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
        if not os.path.lexists(path):
            raise UsageError(f"{path}: no such config file. Check --config, or omit it to use the defaults")
        regular_file(path, "--config")
    elif (beside := case_config_file(db_path)) is not None:
        path = regular_file(beside, "case config")
    else:
        return default_config()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config: {exc}") from None
    return config_from_text(text, str(path), path.parent)
