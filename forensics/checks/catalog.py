"""Where checks come from: the bundled queries/checks/, then each folder the analyst names.

A user folder (--checks DIR, repeatable; `[reports] checks_dirs = [...]` in the case config, relative to it)
holds any of
    NAME.sql            a SQL check with the built-in checks' header (forensics/checks/runner.py)
    NAME.py             a Python check (forensics/checks/loader_py.py)
    NAME/manifest.toml  a plugin folder: manifest, check.py or check.sql, fixtures/
    fixtures/NAME/      test fixtures of the folder's checks (forensics/checks/fixtures.py)
A later folder overrides an earlier one by check name. A file that does not load becomes an error entry
(file:line and why); the others load.
"""

from __future__ import annotations

import sys
from pathlib import Path

from forensics.checks.loader_py import MANIFEST, load_plugin, load_py_check
from forensics.config import CaseConfig
from forensics.errors import DefinitionError, UsageError
from forensics.sqlfiles import Catalog, load_catalog

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _add(catalog: Catalog, load: object, path: Path) -> None:
    try:
        check = load(path)
    except DefinitionError as exc:
        catalog.errors.append(exc)
        return
    catalog.definitions[check.name] = check


def load_user_dir(folder: str | Path, catalog: Catalog) -> None:
    """Add the checks of one user folder to `catalog` (errors as entries)."""
    folder = Path(folder)
    sql = load_catalog([folder], kind="check")
    catalog.definitions.update(sql.definitions)
    catalog.errors += sql.errors
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("*.py")):
        if not path.name.startswith("_") and path.is_file():
            _add(catalog, load_py_check, path)
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).is_file()):
        _add(catalog, load_plugin, sub)


def config_checks_dirs(config: CaseConfig | None) -> list[str]:
    """`[reports] checks_dirs` of the case config, resolved against the config's folder; each must be a folder."""
    if config is None or not config.text:
        return []
    value = tomllib.loads(config.text).get("reports", {}).get("checks_dirs", [])
    base = Path(config.source).parent if config.source else Path()
    out = []
    for folder in [value] if isinstance(value, str) else value:
        path = Path(folder) if Path(folder).is_absolute() else base / folder
        if not path.is_dir():
            raise UsageError(f"{config.where('reports', 'checks_dirs')}: {str(path)!r} is not a folder; name a "
                             "folder of .sql/.py checks")
        out.append(str(path))
    return out


def build_catalog(bundled: Path, user_dirs: list | tuple = ()) -> Catalog:
    """The bundled SQL checks, then each user folder in order."""
    catalog = load_catalog([bundled], kind="check")
    for folder in user_dirs:
        load_user_dir(folder, catalog)
    return catalog
