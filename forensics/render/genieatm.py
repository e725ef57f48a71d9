"""GenieATM's own strings for the JSON envelope: report paths, aggregation units, IP versions.

GenieATM's report API names a report by its place in the web UI's menu, levels joined by ">":
`Internet>Breakdown>Origin ASN` is the manual's example (quoted in issue 10). The product description names the
Internet reports "summary, breakdown and attribute" reports (genienrm.com, ATM6000 functions), which gives
`Internet>Summary`. The Sub-network and Filter compare paths follow the same menu style; no GenieATM document
in reach spells them out, so they are the best reading, not a quotation.

The tool's own reports (top_talkers, wannacry, a user's --queries report ...) have no GenieATM path: their
`report` is `Forensics>` followed by the report's title (`Forensics>Top talkers`), so a script can tell the two
kinds apart by the first level, and `report_name` always holds the definition's name.
"""

from __future__ import annotations

from forensics.reports.result import ReportResult

GENIEATM_REPORTS: dict[str, str] = {
    "internet_summary": "Internet>Summary",
    "origin_as": "Internet>Breakdown>Origin ASN",
    "subnetwork_compare": "Sub-network>Sub-network Compare",
    "filter_compare": "Filter>Filter Compare",
}
OWN_PREFIX = "Forensics"

IP_VERSIONS: dict[int, str] = {0: "Both", 4: "IPv4", 6: "IPv6"}


def report_path(result: ReportResult) -> str:
    """GenieATM's menu path for its four reports, else 'Forensics>' + the report's title."""
    if result.name in GENIEATM_REPORTS:
        return GENIEATM_REPORTS[result.name]
    title = " ".join((result.title or result.name).replace(">", " ").split())
    return f"{OWN_PREFIX}>{title or result.name}"


def ip_version_label(version: int) -> str:
    """0 -> 'Both', 4 -> 'IPv4', 6 -> 'IPv6' (GenieATM's "ip version")."""
    return IP_VERSIONS.get(version, "Both")
