"""The command that carves the packets behind a report row, as the page shows it next to the row.

    forensics carve --report top_talkers --item 3 --from 2016-09-06T12:00:00Z --to 2016-09-06T14:00:00Z -w item-3.pcap

The row is carvable when its dimensions are fields packets carry (addresses, protocol, ports, VLAN): the same
test `carve --report` applies (forensics.reports.items.item_filter). The "Others" row and rows keyed by an
application, an AS, an interface or a config name are not, and the page says why instead.
"""

from __future__ import annotations

import shlex

from forensics.errors import ForensicsError
from forensics.render.jsonout import iso_z
from forensics.reports.items import item_filter
from forensics.reports.result import Item, ReportResult, SectionResult

# Parameters the report runner fills from the window options, not from --param.
WINDOW_PARAMS = ("from_ts", "to_ts", "bin_secs", "unit", "ip_version")


def carve_command(result: ReportResult, section: SectionResult, item: Item) -> tuple[str | None, str]:
    """(the carve command line, '') for a carvable row, else (None, why not)."""
    if item.others:
        return None, "the Others row folds many items together: carve one of the rows above"
    try:
        item_filter(result, item.rank, section.name)
    except ForensicsError as exc:
        return None, str(exc)
    args = ["forensics", "carve", "--report", result.name, "--item", str(item.rank)]
    if result.sections and section is not result.sections[0]:
        args += ["--section", section.name]
    for key, value in sorted(result.params.items()):
        if key not in WINDOW_PARAMS and value is not None:
            args += ["-p", f"{key}={value}"]
    if result.unit != "bps":
        args += ["-p", f"unit={result.unit}"]
    args += ["--from", iso_z(result.start) or "", "--to", iso_z(result.end) or ""]
    if result.scope and result.scope != "any":
        args += ["--scope", result.scope]
    if result.ip_version in (4, 6):
        args += ["--ip-version", str(result.ip_version)]
    if result.filter_expr:
        args += ["--filter", result.filter_expr]
    args += ["-w", f"item-{item.rank}.pcap"]
    return " ".join(shlex.quote(a) for a in args), ""
