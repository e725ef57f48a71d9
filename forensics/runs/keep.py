"""Run a report through the case's stored runs: reuse one with the same key, else compute and store it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from forensics.config import CaseConfig, load_config
from forensics.errors import UsageError
from forensics.reports import list_reports, run_report
from forensics.reports.result import ReportResult
from forensics.runs.serial import result_from_json, result_to_json, result_values
from forensics.store import runs as store


@dataclass
class RunOutcome:
    """A report result and where it came from: `reused` a stored run, or computed (stored as `run_id`, or not
    stored when the case was opened read-only: run_id None)."""

    result: ReportResult
    run_id: int | None
    reused: bool
    computed_at: dt.datetime | None
    pending: dict | None = None  # the run row not stored yet (store_run=False): keep() stores it later


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canon(doc: object) -> str:
    return json.dumps(doc, sort_keys=True, default=str, separators=(",", ":"))


def report_with_runs(case: object, name: str, params: dict | None = None, *, config: CaseConfig | None = None,
                     queries_dirs: tuple | list = (), filter_expr: str | None = None, fresh: bool = False,
                     store_run: bool = True, kind: str = "report") -> RunOutcome:
    """Run report `name` as run_report does, keeping the run in the case.

    Unless `fresh`, the newest stored run with the same definition text, request, config and data fingerprint is
    returned instead of computing. A computed run is stored when `store_run` (the case is writable).
    """
    con = case.con
    if config is None:
        config = load_config(None, getattr(case, "path", None))
    catalog = list_reports((*config.queries_dirs, *queries_dirs))
    if name not in catalog:  # run_report names the problem (unknown report, broken definition)
        return RunOutcome(run_report(case, name, params, config=config, queries_dirs=queries_dirs,
                                     filter_expr=filter_expr), None, False, None)
    definition = catalog[name]
    try:  # the whole file: the header's parameter defaults and sections are part of the definition
        def_text = Path(definition.path).read_text(encoding="utf-8")
    except OSError:
        def_text = definition.sql
    def_sha = _sha(def_text)
    # --basis is part of the request (a run under one basis is never reused for another); auto, the default,
    # is left out so runs stored before --basis existed still match
    request = _canon({"name": definition.name, "params": {k: str(v) for k, v in (params or {}).items()
                                                           if v is not None
                                                           and not (k == "basis" and str(v).lower() == "auto")},
                      "filter": filter_expr})
    config_sha = _sha(_canon(config.summary()))
    fingerprint = _canon(store.data_fingerprint(con))
    fp_sha = _sha(fingerprint)
    if not fresh:
        found = store.find_run(con, definition.name, def_sha, request, config_sha, fp_sha)
        if found is not None:
            run_id, computed_at, text = found
            return RunOutcome(result_from_json(text), int(run_id), True, computed_at)
    result = run_report(case, name, params, config=config, queries_dirs=queries_dirs, filter_expr=filter_expr)
    computed_at = result.generated_at or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    run = {"name": definition.name, "kind": kind, "definition_path": definition.path,
           "definition_sql": def_text, "definition_sha256": def_sha, "request": request,
           "params": _canon(result.params), "config_sha256": config_sha, "fingerprint": fingerprint,
           "fingerprint_sha256": fp_sha, "from_ts": result.start, "to_ts": result.end,
           "bin_secs": result.bin_secs, "computed_at": computed_at, "forensics_version": result.forensics_version,
           "result": result_to_json(result)}
    outcome = RunOutcome(result, None, False, computed_at, run)
    if store_run:
        keep(case, outcome)
    return outcome


def keep(case: object, outcome: RunOutcome) -> int | None:
    """Store a computed run not stored yet (on a case opened for writing); its id, None when the case has no
    runs tables. The data fingerprint is checked again: a run computed before an import is not stored after it."""
    if outcome.pending is None or not store.has_runs(case.con):
        return outcome.run_id
    computed_on = {k: v for k, v in json.loads(outcome.pending["fingerprint"]).items() if k != "flow_sources"}
    if _canon(store.data_fingerprint(case.con, flow_sources=False)) != _canon(computed_on):
        return None  # (the captures or retention changed since: so may the flow sources, not read again here)
    outcome.run_id = store.save_run(case.con, outcome.pending, result_values(outcome.result))
    outcome.pending = None
    return outcome.run_id


def runs(case: object, name: str | None = None) -> list[dict]:
    """The stored runs (of one report, or all), oldest first."""
    return store.list_runs(case.con, name)


def diff(case: object, a: int, b: int) -> list[dict]:
    """The values of run b that differ from run a: section, item, bin, measure, value_a, value_b, change."""
    known = {r["run_id"] for r in store.list_runs(case.con)}
    missing = [str(i) for i in (a, b) if i not in known]
    if missing:
        raise UsageError(f"no stored run {', '.join(missing)} in {getattr(case, 'path', 'the case')}; "
                         "see `forensics runs`")
    return store.diff_runs(case.con, a, b)
