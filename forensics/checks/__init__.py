"""Checks: SQL definitions in queries/checks/ run against a case -> alerts stored in the case.

    run = run_checks(case, ["syn_flood", "host_sweep"], params={"syn_flood": {"home_pps": "500"}})
    for alert in run.alerts:
        print(alert.check, alert.entity, alert.window_start, alert.value, alert.evidence)
    load_alerts(case, check="host_sweep")

A check is a report that returns offending rows (entity, window, value, threshold, unit, detail, evidence);
see forensics/checks/runner.py for the contract and queries/checks/*.sql for the built-in ones.
The analyst's own checks (docs/checks.md): .sql and .py files and plugin folders from the folders they name
(catalog.py, loader_py.py), Python flow hooks replayed offline in flow time (replay.py, queries/checks/_replay.sql),
fixtures run by `forensics check --test` (fixtures.py).
"""

from __future__ import annotations

from forensics.checks.result import Alert, CheckRun, CheckSummary
from forensics.checks.runner import (
    alert_by_id,
    alert_selection,
    bundled_checks_dir,
    list_checks,
    load_alerts,
    parse_param_args,
    run_checks,
)

# Checks whose category is "attack": what benign traffic must never raise at the default thresholds.
ATTACK = "attack"

__all__ = ["ATTACK", "Alert", "CheckRun", "CheckSummary", "alert_by_id", "alert_selection", "bundled_checks_dir",
           "list_checks", "load_alerts", "parse_param_args", "run_checks"]
