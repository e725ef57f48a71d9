"""Python checks: a `.py` file with `CHECK = {...}` and hook functions, or a plugin folder with `manifest.toml`.

    CHECK = {"name": "long_ssh", "title": "Long SSH sessions", "severity": "low",
             "params": {"min_minutes": 30}}

    def periodic_update(flows, ctx):          # flows: a pyarrow.Table batch; see forensics/checks/replay.py
        ...
        ctx.alert(entity, window_start, window_end, value, threshold, detail=None, evidence=None)

Trust: the file is imported and run with the analyst's rights (as ntopng runs its Lua user scripts); it is
loaded only from folders the analyst names (--checks DIR, `[reports] checks_dirs` in the case config).
A file that does not load (syntax error, an exception at import, a bad CHECK) is a DefinitionError naming the
file and line; the caller skips it and runs the others.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from forensics.errors import DefinitionError
from forensics.sqlfiles import Param, parse_definition
from forensics.sqlfiles.header import SEVERITIES, Definition

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

HOOKS = ("protocol_detected", "status_changed", "periodic_update", "flow_end")
CATEGORIES = ("attack", "policy", "anomaly")
MANIFEST = "manifest.toml"
MANIFEST_KEYS = ("name", "title", "description", "severity", "category", "unit", "hooks", "params", "script")
_TYPE_OF = {bool: "BOOLEAN", int: "BIGINT", float: "DOUBLE", str: "VARCHAR"}


@dataclass(frozen=True)
class PyCheck:
    """A loaded Python check: the header fields a SQL Definition has, plus its hook functions."""

    name: str
    path: str
    title: str
    description: str
    severity: str
    category: str
    unit: str
    params: tuple[Param, ...]
    hooks: dict = field(default_factory=dict)  # hook name -> function(flows, ctx)
    needs: tuple[str, ...] = ()
    kind: str = "python"

    def param(self, name: str) -> Param | None:
        """The declared parameter called `name`, or None."""
        return next((p for p in self.params if p.name == name), None)


def error_line(exc: BaseException, path: str) -> int | None:
    """The line of `path` where `exc` was raised (the deepest frame in that file), if any."""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == Path(path):
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename) == Path(path):
            line = frame.lineno
    return line


def _param(name: str, spec: object, where: str, path: str, line: int | None) -> Param:
    """`NAME = DEFAULT` (type from the value) or `NAME = {type = "INTEGER", default = 5}`."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)):
        raise DefinitionError(path, line, f"{where}: parameter name {name!r} is not an identifier")
    if isinstance(spec, dict):
        ptype = str(spec.get("type", "VARCHAR")).upper()
        default = spec.get("default")
    else:
        ptype, default = _TYPE_OF.get(type(spec), "VARCHAR"), spec
    param = Param(str(name), ptype, None, False)
    try:
        value = param.coerce(default)
    except ValueError as exc:
        raise DefinitionError(path, line, f"{where}: parameter {name}: {exc}") from None
    return Param(str(name), ptype, value, default is not None)


def _check_fields(meta: dict, path: str, line: int | None, where: str) -> dict:
    for key in ("name", "title", "severity"):
        if not meta.get(key):
            raise DefinitionError(path, line, f"{where} has no {key!r}; write e.g. {key} = \"...\"")
    name = str(meta["name"])
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise DefinitionError(path, line, f"{where}: name {name!r} must be lower_snake_case")
    if meta["severity"] not in SEVERITIES:
        raise DefinitionError(path, line, f"{where}: severity {meta['severity']!r} is not one of "
                                          f"{', '.join(SEVERITIES)}")
    category = str(meta.get("category", "policy"))
    if category not in CATEGORIES:
        raise DefinitionError(path, line, f"{where}: category {category!r} is not one of {', '.join(CATEGORIES)}")
    params = meta.get("params", {})
    if not isinstance(params, dict):
        raise DefinitionError(path, line, f"{where}: params must be a table {{NAME: DEFAULT, ...}}")
    return {"name": name, "title": str(meta["title"]), "description": str(meta.get("description", "")),
            "severity": str(meta["severity"]), "category": category, "unit": str(meta.get("unit", "count")),
            "params": tuple(_param(k, v, where, path, line) for k, v in params.items())}


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"forensics_user_check_{abs(hash(str(path))):x}", path)
    if spec is None or spec.loader is None:
        raise DefinitionError(str(path), None, "cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 -- the analyst's code: any failure is reported and skipped
        if isinstance(exc, KeyboardInterrupt):
            raise
        what = "syntax error" if isinstance(exc, SyntaxError) else f"{type(exc).__name__} at import"
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise DefinitionError(str(path), error_line(exc, str(path)), f"{what}: {detail}") from None
    return module


def _check_line(path: Path) -> int | None:
    for number, text in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if text.startswith("CHECK"):
            return number
    return None


def load_py_check(path: str | Path, meta: dict | None = None) -> PyCheck:
    """Import one .py check; `meta` (from a manifest) replaces its CHECK dict."""
    path = Path(path)
    module = _import(path)
    where = "CHECK"
    line = _check_line(path)
    if meta is None:
        meta = getattr(module, "CHECK", None)
        if not isinstance(meta, dict):
            raise DefinitionError(str(path), None, "defines no CHECK = {\"name\": ..., \"title\": ..., "
                                                   "\"severity\": ..., \"params\": {...}}")
    else:
        where, line = MANIFEST, None
    fields = _check_fields(meta, str(path), line, where)
    hooks = {h: getattr(module, h) for h in HOOKS if callable(getattr(module, h, None))}
    if not hooks:
        raise DefinitionError(str(path), None, f"defines none of the hooks {', '.join(HOOKS)}")
    declared = meta.get("hooks")
    if declared is not None:
        missing = [h for h in declared if h not in hooks]
        if missing:
            raise DefinitionError(str(path), None, f"the manifest names hook(s) {', '.join(missing)} that the "
                                                   "script does not define")
    return PyCheck(path=str(path), hooks=hooks, **fields)


def load_plugin(folder: str | Path) -> PyCheck | Definition:
    """A plugin folder: manifest.toml (name, title, description, severity, category, hooks, params, script),
    the script (check.py, or check.sql for a SQL check with its own header) and fixtures/."""
    folder = Path(folder)
    manifest = folder / MANIFEST
    try:
        meta = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(str(manifest), None, f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        raise DefinitionError(str(manifest), int(found.group(1)) if found else None,
                              f"not valid TOML: {exc}") from None
    unknown = [k for k in meta if k not in MANIFEST_KEYS]
    if unknown:
        raise DefinitionError(str(manifest), None, f"unknown key(s) {', '.join(unknown)} (known: "
                                                   f"{', '.join(MANIFEST_KEYS)})")
    script = folder / str(meta.get("script") or ("check.sql" if (folder / "check.sql").is_file() else "check.py"))
    if not script.is_file():
        raise DefinitionError(str(manifest), None, f"no script {script.name} beside it; add check.py or check.sql, "
                                                   "or name it with script = \"FILE\"")
    if script.suffix == ".sql":
        return parse_definition(script, script.read_text(encoding="utf-8"), "check")
    _check_fields(meta, str(manifest), None, MANIFEST)
    return load_py_check(script, meta)
