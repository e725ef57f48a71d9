"""Check settings from the case config: `[checks.<check>]` tables, validated against each check's params.

    [checks.syn_flood]
    home_pps = 500                          # any declared parameter of the check
    [checks.syn_flood.subnetworks.lab]      # protocol-misuse checks: per-subnetwork bps / pps
    pps = 50
    [checks.app_anomaly.signatures.big_dns] # app_anomaly: the user's signatures
    proto = "udp"
    src_port = "53"
    length = "1000-1500"                    # IP length range
    per = "dst"                             # count per destination (or "src") address
    pps = 20

The `checks` table is read from the config file's text, so this module depends on nothing else of the
config's parsing. Every problem is a UsageError naming the file and the key.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

from forensics.config import PROTOCOLS, CaseConfig
from forensics.errors import UsageError
from forensics.netaddr import cidr_range
from forensics.sqlfiles import Definition

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Parameters the runner sets itself (the run's range); not settable in [checks.*].
WINDOW_PARAMS = ("from_ts", "to_ts")
FLAGS = {"fin": 1, "syn": 2, "rst": 4, "psh": 8, "push": 8, "ack": 16, "urg": 32, "ece": 64, "cwr": 128}
SIGNATURE_KEYS = ("proto", "length", "src", "dst", "src_port", "dst_port", "port", "tcp_flags", "per", "pps",
                  "bps")


@dataclass(frozen=True)
class Signature:
    """One application-anomaly signature (None = any); `per` is 'src' or 'dst'."""

    name: str
    proto: int | None = None
    length: tuple[int, int] | None = None
    src: tuple[int, int] | None = None
    dst: tuple[int, int] | None = None
    src_port: tuple[int, int] | None = None
    dst_port: tuple[int, int] | None = None
    port: tuple[int, int] | None = None
    flags_mask: int | None = None
    flags_value: int | None = None
    per: str = "dst"
    pps: float = 0.0
    bps: float = 0.0


@dataclass
class ChecksConfig:
    """Per-check settings: params[check][key], subnetwork overrides, app signatures; `source` names the file."""

    source: str = "built-in defaults"
    params: dict[str, dict[str, object]] = field(default_factory=dict)
    overrides: list[tuple[str, str, int, int, str, float]] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)


def _range(value: object, where: str, lo: int = 0, hi: int = 65535) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(value))
    if not match:
        raise UsageError(f"{where}: {value!r} is not a number or LO-HI range")
    a, b = int(match.group(1)), int(match.group(2) or match.group(1))
    if not lo <= a <= b <= hi:
        raise UsageError(f"{where}: {value!r} is outside {lo}-{hi}")
    return a, b


def _cidr(value: object, where: str) -> tuple[int, int]:
    try:
        return cidr_range(str(value))
    except ValueError:
        raise UsageError(f"{where}: {value!r} is not an address or CIDR block (write e.g. \"10.1.0.0/16\")") from None


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"{where}: {value!r} is not a number")
    return float(value)


def _flags(value: object, where: str) -> tuple[int, int]:
    """'syn,!ack' -> (mask, value): SYN set, ACK clear."""
    mask = val = 0
    for word in str(value).lower().replace(" ", "").split(","):
        neg = word.startswith("!")
        bit = FLAGS.get(word.lstrip("!"))
        if bit is None:
            raise UsageError(f"{where}: {word!r} is not a TCP flag ({', '.join(FLAGS)}; '!ack' = ACK clear)")
        mask |= bit
        val |= 0 if neg else bit
    return mask, val


def parse_signature(name: str, table: object, where: str) -> Signature:
    """One [checks.app_anomaly.signatures.NAME] table -> Signature."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: expected a table of {', '.join(SIGNATURE_KEYS)}")
    for key in table:
        if key not in SIGNATURE_KEYS:
            raise UsageError(f"{where} key {key!r}: not a signature key (known: {', '.join(SIGNATURE_KEYS)})")
    kw: dict = {}
    if "proto" in table:
        text = str(table["proto"]).lower()
        kw["proto"] = PROTOCOLS.get(text, int(text) if text.isdigit() and int(text) < 256 else None)
        if kw["proto"] is None:
            raise UsageError(f"{where} key 'proto': {table['proto']!r} is not a protocol name or number")
    if "length" in table:
        kw["length"] = _range(table["length"], f"{where} key 'length'")
    for key in ("src", "dst"):
        if key in table:
            kw[key] = _cidr(table[key], f"{where} key {key!r}")
    for key in ("src_port", "dst_port", "port"):
        if key in table:
            kw[key] = _range(table[key], f"{where} key {key!r}")
    if "tcp_flags" in table:
        kw["flags_mask"], kw["flags_value"] = _flags(table["tcp_flags"], f"{where} key 'tcp_flags'")
    per = str(table.get("per", "dst"))
    if per not in ("src", "dst"):
        raise UsageError(f"{where} key 'per': write \"src\" or \"dst\"")
    for key in ("pps", "bps"):
        if key in table:
            kw[key] = _number(table[key], f"{where} key {key!r}")
    if not kw.get("pps") and not kw.get("bps"):
        raise UsageError(f"{where}: give a limit: pps = N and/or bps = N")
    return Signature(name=name, per=per, **kw)


def _place(config: CaseConfig, *path: str) -> str:
    """'FILE:LINE: [checks.NAME] key' where the config can say its line (CaseConfig.where), else 'FILE [checks.NAME]
    key'."""
    where = getattr(config, "where", None)
    if where is not None:
        try:
            return str(where("checks", *path))
        except (KeyError, ValueError, TypeError, AttributeError):
            pass
    source = config.source or "built-in defaults"
    head = f"{source} [checks.{'.'.join(path[:-1] if len(path) > 1 else path)}]"
    return head + (f" key {path[-1]!r}" if len(path) > 1 else "")


def _declared(definition: Definition) -> list[str]:
    return [p.name for p in definition.params if p.name not in WINDOW_PARAMS]


def load_checks_config(config: CaseConfig, definitions: dict[str, Definition]) -> ChecksConfig:
    """The `[checks]` table of the case config, validated against `definitions` (check name -> Definition)."""
    source = config.source or "built-in defaults"
    out = ChecksConfig(source=source)
    if not config.text:
        return out
    try:
        doc = tomllib.loads(config.text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML: {exc}") from None
    checks = doc.get("checks", {})
    if not isinstance(checks, dict):
        raise UsageError(f"{source}: [checks] must hold tables such as [checks.syn_flood]")
    subnets = config.subnetworks
    for name, table in checks.items():
        where = _place(config, name)
        if name not in definitions:
            raise UsageError(f"{where}: no check called {name!r} (known: {', '.join(sorted(definitions))})")
        if not isinstance(table, dict):
            raise UsageError(f"{where}: expected a table of the check's parameters")
        definition = definitions[name]
        declared = _declared(definition)
        values: dict[str, object] = {}
        for key, value in table.items():
            if key == "subnetworks" and definition.param("home_pps") is not None:
                out.overrides += _overrides(name, value, subnets, f"{where} subnetworks")
            elif key == "signatures" and name == "app_anomaly":
                if not isinstance(value, dict):
                    raise UsageError(f"{where} signatures: expected [checks.app_anomaly.signatures.NAME] tables")
                out.signatures += [parse_signature(sname, stab, f"{source} [checks.app_anomaly.signatures.{sname}]")
                                   for sname, stab in value.items()]
            elif key in declared:
                try:
                    values[key] = definition.param(key).coerce(value)
                except ValueError as exc:
                    raise UsageError(f"{_place(config, name, key)}: {exc}") from None
            else:
                extra = " subnetworks," if definition.param("home_pps") is not None else ""
                extra += " signatures," if name == "app_anomaly" else ""
                raise UsageError(f"{_place(config, name, key)}: not a parameter of {name} (known:{extra} "
                                 f"{', '.join(declared)})")
        out.params[name] = values
    return out


def _overrides(check: str, value: object, subnets: dict, where: str) -> list[tuple]:
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected [checks.{check}.subnetworks.NAME] tables with bps and/or pps")
    rows = []
    for sub, limits in value.items():
        if sub not in subnets:
            raise UsageError(f"{where}.{sub}: no subnetwork {sub!r} in [subnetworks]")
        if not isinstance(limits, dict):
            raise UsageError(f"{where}.{sub}: expected bps = N and/or pps = N")
        for key, limit in limits.items():
            if key not in ("bps", "pps"):
                raise UsageError(f"{where}.{sub} key {key!r}: only bps and pps can be set per subnetwork")
            number = _number(limit, f"{where}.{sub} key {key!r}")
            rows += [(check, sub, net.lo, net.hi, key, number) for net in subnets[sub]]
    return rows
