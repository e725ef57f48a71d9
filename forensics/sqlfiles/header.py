"""The `-- key: value` metadata header of a .sql definition -> a frozen Definition.

The header is the run of `--` comment lines at the top of the file; it ends at the first line that is not
a comment. Keys may repeat only where noted. Example:

    -- name: top_talkers
    -- title: Top talkers
    -- description: Addresses that sent or received the most traffic.
    -- param: top INTEGER = 10
    -- dimensions: ip
    -- measures: in, out, total
    -- unit: bps
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from forensics.errors import DefinitionError
from forensics.sqlfiles.params import Param, parse_param, placeholders

SINGLE_KEYS = ("name", "title", "description", "dimensions", "measures", "unit", "kind", "needs", "severity",
               "category")
REPEATED_KEYS = ("param", "section")
UNITS = ("bps", "pps", "bytes", "packets", "flows", "count")
# Check definitions (queries/checks/, kind "check") return offending rows: no measures; a severity.
SEVERITIES = ("high", "medium", "low", "info")
_HEADER_LINE = re.compile(r"^--\s*([a-z_]+)\s*:\s?(.*)$")


@dataclass(frozen=True)
class Section:
    """A named part of a report's result (its rows carry `section` = name) with its own dimensions."""

    name: str
    dimensions: tuple[str, ...]


@dataclass(frozen=True)
class Definition:
    """A validated .sql definition: metadata plus the SQL body (run unchanged, parameters bound)."""

    name: str
    path: str
    title: str
    description: str
    params: tuple[Param, ...]
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]
    unit: str
    sql: str
    kind: str = "report"
    sections: tuple[Section, ...] = ()
    needs: tuple[str, ...] = field(default=())
    severity: str = ""
    category: str = ""

    def param(self, name: str) -> Param | None:
        """The declared parameter called `name`, or None."""
        return next((p for p in self.params if p.name == name), None)


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def parse_definition(path: str | Path, text: str, kind: str = "report") -> Definition:
    """Parse and validate one definition; DefinitionError(path, line) names the first problem.

    `kind` is the default kind ("report", or "check" for queries/checks/: measures optional, severity required).
    """
    path = str(path)
    values: dict[str, tuple[str, int]] = {}
    params: list[Param] = []
    sections: list[Section] = []
    lines = text.splitlines()
    body_start = len(lines)
    for idx, line in enumerate(lines):
        lineno = idx + 1
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            body_start = idx
            break
        match = _HEADER_LINE.match(stripped)
        if not match:
            continue  # free comment text inside the header
        key, value = match.group(1), match.group(2).strip()
        if key == "param":
            try:
                param = parse_param(value)
            except ValueError as exc:
                raise DefinitionError(path, lineno, f"bad param: {exc}") from None
            if any(p.name == param.name for p in params):
                raise DefinitionError(path, lineno, f"parameter {param.name} declared twice")
            params.append(param)
        elif key == "section":
            name, sep, dims = value.partition(":")
            if not sep or not name.strip() or not _names(dims):
                raise DefinitionError(path, lineno, "bad section: expected 'NAME: dim, dim'")
            sections.append(Section(name.strip(), _names(dims)))
        elif key in SINGLE_KEYS:
            if key in values:
                raise DefinitionError(path, lineno, f"key {key!r} given twice")
            values[key] = (value, lineno)
        else:
            known = ", ".join(SINGLE_KEYS + REPEATED_KEYS)
            raise DefinitionError(path, lineno, f"unknown header key {key!r} (known: {known})")
    for key in ("name", "title"):
        if key not in values or not values[key][0]:
            raise DefinitionError(path, 1, f"header has no {key!r} line; add '-- {key}: ...' at the top")
    name = values["name"][0]
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise DefinitionError(path, values["name"][1], f"name {name!r} must be lower_snake_case")
    unit, unit_line = values.get("unit", ("bps", 1))
    if unit not in UNITS:
        raise DefinitionError(path, unit_line, f"unit {unit!r} is not one of {', '.join(UNITS)}")
    body = "\n".join(lines[body_start:])
    if not body.strip():
        raise DefinitionError(path, body_start + 1, "no SQL after the header")
    used = placeholders(body)
    declared = {p.name for p in params}
    if used - declared:
        missing = ", ".join(sorted(used - declared))
        raise DefinitionError(path, body_start + 1, f"placeholder(s) used but not declared: {missing}")
    if declared - used:
        unused = ", ".join(sorted(declared - used))
        line = next(i + 1 for i, ln in enumerate(lines) if ln.strip().startswith("-- param:")
                    and parse_param(_HEADER_LINE.match(ln.strip()).group(2)).name in declared - used)
        raise DefinitionError(path, line, f"parameter(s) declared but not used: {unused}")
    dims = _names(values.get("dimensions", ("", 0))[0])
    measures = _names(values.get("measures", ("", 0))[0])
    kind = values.get("kind", (kind, 0))[0]
    if not measures and kind == "report":
        raise DefinitionError(path, 1, "header has no '-- measures: ...' line")
    severity, severity_line = values.get("severity", ("", 1))
    if kind == "check" and severity not in SEVERITIES:
        raise DefinitionError(path, severity_line, f"severity {severity!r}: write '-- severity: ' and one of "
                              f"{', '.join(SEVERITIES)}")
    return Definition(
        name=name, path=path, title=values["title"][0],
        description=values.get("description", ("", 0))[0], params=tuple(params),
        dimensions=dims, measures=measures, unit=unit, sql=body,
        kind=kind, sections=tuple(sections),
        needs=_names(values.get("needs", ("", 0))[0]),
        severity=severity, category=values.get("category", ("", 0))[0],
    )
