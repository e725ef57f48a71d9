"""Reports: SQL definitions in queries/reports/ run against a case -> ReportResult.

    result = run_report(case, "wannacry", {"period": "daily", "end": "2016-09-07T00:00:00Z"})
    catalog = list_reports(["my_queries"])
"""

from __future__ import annotations

from forensics.reports.result import Item, ReportResult, SectionResult, Source
from forensics.reports.runner import bundled_reports_dir, list_reports, run_report

# The reports `forensics demo` renders, in index order.
SITE_REPORTS: list[str] = [
    "internet_summary", "top_talkers", "top_ports", "protocol_mix", "attributes", "wannacry", "origin_as",
    "subnetwork_compare", "filter_compare",
]

__all__ = ["SITE_REPORTS", "Item", "ReportResult", "SectionResult", "Source", "bundled_reports_dir",
           "list_reports", "run_report"]
