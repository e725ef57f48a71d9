"""Report runs kept in the case (issue 13): reuse of a stored run, reconstruction as a new version, diffs.

A run is keyed by the definition's text (sha256), the request as given (report name, parameters, filter,
window options), the case config (sha256 of its summary) and a fingerprint of the data (capture ids and
sha256s, exported flow sources). `forensics report` reuses the newest stored run with the same key;
`forensics reconstruct` always recomputes and stores a new version beside the older ones.
"""

from forensics.runs.keep import RunOutcome, diff, keep, report_with_runs, runs
from forensics.runs.serial import result_from_json, result_to_json, result_values

__all__ = ["RunOutcome", "diff", "keep", "report_with_runs", "result_from_json", "result_to_json", "result_values",
           "runs"]
