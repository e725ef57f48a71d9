"""Check fixtures (`forensics check --test`): a small input and the alerts a check must raise on it.

    fixtures/NAME/
        capture.pcap          the input: anything `forensics import` reads (pcap, pcapng, flow files, nfdump CSV)
        forensics.toml        optional case config for the run
        expected.json         {"check": "after_hours",          (default: the plugin's check, else NAME)
                               "params": {"hours": "08,12"},    (optional, as --param)
                               "tolerance": 0.001,              (relative, on value; default 0)
                               "alerts": [{"entity": "10.1.1.5", "window_start": "2026-03-10T02:30:00Z",
                                           "window_end": "2026-03-10T03:00:00Z", "value": 3}, ...]}
Fixtures are found in queries/checks/fixtures/ (built-in checks), DIR/fixtures/ and DIR/PLUGIN/fixtures/ for each
user folder. Each runs in a fresh case in a temporary folder; alerts are matched by (entity, window_start,
window_end), and a match's value must agree within the tolerance.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from forensics.checks.catalog import config_checks_dirs
from forensics.checks.loader_py import MANIFEST
from forensics.checks.result import iso_z
from forensics.checks.runner import bundled_checks_dir, run_checks
from forensics.config import CONFIG_NAME, CaseConfig, load_config
from forensics.errors import ForensicsError
from forensics.ingest import import_paths
from forensics.store import Case

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EXPECTED = "expected.json"


@dataclass
class Fixture:
    """One fixture folder: the check it tests and where it lives."""

    name: str
    check: str
    path: Path


@dataclass
class FixtureResult:
    """The outcome of one fixture: passed, and the differences when not."""

    fixture: Fixture
    passed: bool
    differences: list[str] = field(default_factory=list)


def _fixtures_in(folder: Path, default_check: str | None) -> list[Fixture]:
    out = []
    base = folder / "fixtures"
    if not base.is_dir():
        return out
    for sub in sorted(p for p in base.iterdir() if p.is_dir()):
        check = default_check or sub.name
        expected = sub / EXPECTED
        if expected.is_file():
            try:
                check = json.loads(expected.read_text(encoding="utf-8")).get("check", check)
            except (ValueError, AttributeError):
                pass  # reported when the fixture runs
        out.append(Fixture(sub.name, str(check), sub))
    return out


def find_fixtures(user_dirs: list | tuple = ()) -> list[Fixture]:
    """Built-in fixtures, then each user folder's and its plugin folders'."""
    found = _fixtures_in(bundled_checks_dir(), None)
    for folder in map(Path, user_dirs):
        found += _fixtures_in(folder, None)
        if folder.is_dir():
            for plugin in sorted(p for p in folder.iterdir() if p.is_dir() and (p / MANIFEST).is_file()):
                found += _fixtures_in(plugin, _plugin_name(plugin))
    return found


def _plugin_name(plugin: Path) -> str | None:
    try:
        return str(tomllib.loads((plugin / MANIFEST).read_text(encoding="utf-8")).get("name") or plugin.name)
    except (OSError, ValueError):
        return plugin.name


def _close(a: object, b: object, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=tolerance, abs_tol=1e-9)


def compare(expected: list[dict], got: list[dict], tolerance: float) -> list[str]:
    """Differences between expected and raised alerts (dicts with entity, window_start, window_end, value)."""
    def key(a: dict) -> tuple:
        return (str(a["entity"]), str(a["window_start"]), str(a["window_end"]))

    want = {key(a): a for a in expected}
    have = {key(a): a for a in got}
    diffs = [f"missing: {k[0]} {k[1]} .. {k[2]} value {want[k].get('value')}" for k in want if k not in have]
    diffs += [f"unexpected: {k[0]} {k[1]} .. {k[2]} value {have[k].get('value')}" for k in have if k not in want]
    for k in want.keys() & have.keys():
        if "value" in want[k] and not _close(want[k]["value"], have[k]["value"], tolerance):
            diffs.append(f"value: {k[0]} {k[1]} .. {k[2]}: expected {want[k]['value']}, got {have[k]['value']}")
    return sorted(diffs)


def run_fixture(fixture: Fixture, user_dirs: list | tuple = ()) -> FixtureResult:
    """Import the fixture's input into a fresh case, run its check with its params, compare the alerts."""
    expected_path = fixture.path / EXPECTED
    try:
        spec = json.loads(expected_path.read_text(encoding="utf-8"))
        wanted = list(spec["alerts"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return FixtureResult(fixture, False, [f"{expected_path}: not a readable expected.json with \"alerts\" "
                                              f"({exc})"])
    inputs = [str(p) for p in sorted(fixture.path.iterdir())
              if p.is_file() and p.name not in (EXPECTED, CONFIG_NAME) and not p.name.startswith(".")]
    config_file = fixture.path / CONFIG_NAME
    try:
        config: CaseConfig = load_config(config_file if config_file.is_file() else None, None)
        dirs = [*config_checks_dirs(config), *user_dirs]
        with tempfile.TemporaryDirectory(prefix="forensics-fixture-") as tmp, \
                Case.open(Path(tmp) / "case.duckdb") as case:
            summary = import_paths(case, inputs)
            if summary.exit_code != 0 or not inputs:
                return FixtureResult(fixture, False, [f"{fixture.path}: the input did not import cleanly "
                                                      f"({len(inputs)} file(s), exit code {summary.exit_code})"])
            params = {fixture.check: dict(spec.get("params", {}))} if spec.get("params") else None
            run = run_checks(case, [fixture.check], params=params, config=config, queries_dirs=dirs)
            if run.errors:
                return FixtureResult(fixture, False, [f"check failed: {e}" for e in run.errors])
            got = [{"entity": a.entity, "window_start": iso_z(a.window_start), "window_end": iso_z(a.window_end),
                    "value": a.value} for a in run.alerts]
    except ForensicsError as exc:
        return FixtureResult(fixture, False, [str(exc)])
    diffs = compare(wanted, got, float(spec.get("tolerance", 0.0)))
    return FixtureResult(fixture, not diffs, diffs)
