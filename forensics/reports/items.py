"""A report row back to the packets behind it: the row's dimension values as a pcap-filter expression.

Only dimensions that packets carry can be mapped (addresses, protocol, ports, VLAN); a row keyed by an
application, an AS or an interface names the dimension it cannot map.
"""

from __future__ import annotations

import ipaddress

from forensics.errors import UsageError
from forensics.reports.result import ReportResult

PROTO_NUMBERS = {"icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "icmp6": 58, "sctp": 132}


def _term(dimension: str, value: str) -> str:
    if dimension in ("src_ip", "dst_ip", "ip"):
        ipaddress.ip_address(value)  # only a literal address goes into the expression
        return f"{dimension[:3]} host {value}" if dimension != "ip" else f"host {value}"
    if dimension in ("src_port", "dst_port", "port"):
        return f"{dimension[:3]} port {int(value)}" if dimension != "port" else f"port {int(value)}"
    if dimension == "proto":
        if value in ("tcp", "udp", "icmp", "icmp6", "sctp"):
            return value
        number = PROTO_NUMBERS.get(value, None)
        number = int(value) if number is None else number
        return f"(ip proto {number} or ip6 proto {number})"
    if dimension == "vlan":
        return f"vlan {int(value)}"
    raise UsageError(f"report dimension {dimension!r} is not in the packets table; "
                     "carve with --filter or --flow instead")


def item_filter(result: ReportResult, rank: int, section: str | None = None) -> str:
    """pcap-filter expression selecting the packets of row `rank` (1-based) of a report section."""
    sections = [s for s in result.sections if section is None or s.name == section]
    if not sections:
        raise UsageError(f"report {result.name} has no section {section!r}; sections: "
                         + ", ".join(s.name for s in result.sections))
    chosen = sections[0]
    item = next((i for i in chosen.items if i.rank == rank and not i.others), None)
    if item is None:
        ranks = [i.rank for i in chosen.items if not i.others]
        raise UsageError(f"report {result.name}, section {chosen.name}: no row {rank} (rows {min(ranks, default=0)}"
                         f"..{max(ranks, default=0)}; the Others row cannot be carved)")
    terms = []
    for dimension, value in zip(chosen.dimensions, item.names, strict=False):
        if value is None or value == "-":
            continue
        try:
            terms.append(_term(dimension, value))
        except ValueError:
            raise UsageError(f"report row {rank}: {dimension} value {value!r} is not an address or number") from None
    if not terms:
        raise UsageError(f"report row {rank} has no dimension that packets carry")
    return " and ".join(terms)
