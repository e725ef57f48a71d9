"""Loading .sql definitions from folders: a malformed file becomes an error entry, the others still load.

    catalog = load_catalog([bundled_reports, Path("my_queries")])
    catalog.definitions["wannacry"].params
    catalog.errors                      # [DefinitionError(path, line, reason), ...]

Later folders override earlier ones by name (a user folder can replace a bundled report). Files whose
name starts with '_' hold helper SQL and are not definitions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from forensics.errors import DefinitionError
from forensics.sqlfiles.header import Definition, Section, parse_definition
from forensics.sqlfiles.params import Param, parse_timestamp, placeholders

__all__ = ["Catalog", "Definition", "Param", "Section", "load_catalog", "parse_definition",
           "parse_timestamp", "placeholders"]


@dataclass
class Catalog:
    """Definitions by name, plus the files that could not be loaded and why."""

    definitions: dict[str, Definition] = field(default_factory=dict)
    errors: list[DefinitionError] = field(default_factory=list)

    def names(self) -> list[str]:
        """Definition names, sorted."""
        return sorted(self.definitions)

    def __contains__(self, name: object) -> bool:
        return name in self.definitions

    def __getitem__(self, name: str) -> Definition:
        return self.definitions[name]


# Parsed definitions by (path, kind, text): a report run loads the catalog each time (2.5 ms of parsing for the
# bundled reports); a file whose text changed is parsed again. Definitions are frozen, so one object can serve.
_PARSED: dict[tuple[str, str, str], Definition] = {}
_PARSED_MAX = 1024


def _parsed(path: Path, text: str, kind: str) -> Definition:
    key = (str(path), kind, text)
    found = _PARSED.get(key)
    if found is None:
        found = parse_definition(path, text, kind)  # (a DefinitionError is not kept: raised again next time)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = found
    return found


def load_catalog(dirs: Iterable[str | Path], kind: str = "report") -> Catalog:
    """Load every `*.sql` in each folder (not recursive). Missing folders are a DefinitionError entry.

    `kind` is the definitions' default kind: "report", or "check" (queries/checks/).
    """
    catalog = Catalog()
    for folder in dirs:
        folder = Path(folder)
        if not folder.is_dir():
            catalog.errors.append(DefinitionError(str(folder), None, "not a folder of .sql definitions"))
            continue
        for path in sorted(folder.glob("*.sql")):
            if path.name.startswith("_"):
                continue  # helper SQL (e.g. _context.sql), not a definition
            if not path.is_file():  # a FIFO or device named *.sql would block or never end: not opened
                catalog.errors.append(DefinitionError(str(path), None, "not a regular file"))
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                catalog.errors.append(DefinitionError(str(path), None, f"cannot read: {exc}"))
                continue
            try:
                definition = _parsed(path, text, kind)
            except DefinitionError as exc:
                catalog.errors.append(exc)
                continue
            catalog.definitions[definition.name] = definition
    return catalog
