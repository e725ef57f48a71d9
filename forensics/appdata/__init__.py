"""Application metadata (DNS, DHCP, DHCPv6, NTP, SMTP, TLS and QUIC Initials, HTTP) from packet payloads: bytes in,
rows out.

    from forensics.appdata import extract
    rows = extract(payloads)   # payloads: Candidate(frame, transport, sport, dport, payload) ...
    rows.tables["dns"], rows.malformed["dns"]

Pure code, no database: each parser takes one packet's transport payload and returns a dict of
columns, None when the payload is not its protocol, or raises Malformed when it is its protocol
but damaged. `extract` tries the parsers a packet's ports suggest, then (any port) those whose
header sanity the payload passes; see forensics/appdata/extract.py. Which packets are candidates is chosen
in forensics/appdata/select.py; regular DNS and NTP have a compiled fast path (forensics/appdata/fastpath.py).
"""

from __future__ import annotations

from forensics.appdata.extract import Candidate, Extracted, extract

__all__ = ["Candidate", "Extracted", "extract"]
