"""Units and layers of report measures, and the sentences an empty section shows.

Reports count IP-layer bytes (IPv4 total length, IPv6 payload + 40), as NetFlow and nfdump do; `info` and
tshark's conversations count frame bytes (the link layer too). Every measure says which.
"""

from __future__ import annotations

from forensics.reports.result import SectionResult

# --unit: bps and pps are average rates over the bin (or the window, on an item's row); bytes, packets and
# flows are sums over the bin (or the window).
UNITS = ("bps", "pps", "bytes", "packets", "flows")
_UNIT_TEXT = {"bps": "bps (IP layer)", "pps": "pps", "bytes": "bytes (IP layer)", "packets": "packets",
              "flows": "flows"}
# Measures whose unit does not follow --unit: totals over the item's period (or the bin, in a series).
FIXED_UNITS = {
    "bytes": "bytes (IP layer)",
    "packets": "packets",
    "flows": "flows",
    "peers": "distinct addresses",
    "ports": "distinct ports",
    "addresses": "distinct addresses",
    "hosts": "distinct addresses",
    "frame_bytes": "bytes (frames, link layer)",
    "arp_packets": "packets",
    "macs": "distinct MAC addresses",
    # application reports (queries/reports/dns_*.sql, tls_sni.sql, http_hosts.sql, dhcp_leases.sql): messages
    "queries": "DNS queries",
    "responses": "DNS responses",
    "nxdomain": "DNS responses (NXDOMAIN)",
    "names": "distinct names",
    "handshakes": "TLS ClientHellos",
    "requests": "HTTP requests",
    "messages": "DHCP messages",
    "acks": "DHCP ACKs",
    "addresses_assigned": "distinct addresses",
    "commands": "SMTP commands",  # smtp_senders: MAIL commands (senders), EHLO/HELO commands (clients)
    "recipients": "distinct recipients",
}

# What an empty section says: which traffic was searched and how to widen the search.
_EMPTY = {
    ("wannacry", "src_dst"): "no traffic from home to the internet on {app} (source in a home network, "
                             "destination on the internet)",
    ("wannacry", "dst_out_if"): "no traffic from home to the internet on {app}",
    ("wannacry", "in_src_dst"): "no traffic from the internet into home on {app}",
    ("wannacry", "home_src_dst"): "no traffic between home addresses on {app}",
}
_WIDEN = ("widen it with --from/--to, --scope any, another --param app=NAME, or [home] networks in the "
          "case config (forensics.toml)")


def measure_units(measures: list[str] | tuple[str, ...], unit: str) -> dict[str, str]:
    """{"in": "bps (IP layer)", "bytes": "bytes (IP layer)", "flows": "flows", ...} for a report's measures.

    Whether a value is an average rate or a sum follows from the unit (bps, pps: rates); the renderers say so.
    """
    return {m: FIXED_UNITS.get(m, _UNIT_TEXT.get(unit, unit)) for m in measures}


def empty_hints(report: str, sections: list[SectionResult], params: dict) -> list[str]:
    """A sentence for each empty section of `report` that has one: what was searched, how to widen it."""
    notes = []
    for section in sections:
        if section.items:
            continue
        text = _EMPTY.get((report, section.name))
        if text is None:
            continue
        section.empty_hint = text.format(**{k: v for k, v in params.items() if isinstance(k, str)}) + "; " + _WIDEN
        notes.append(f"{section.name}: {section.empty_hint}")
    return notes
