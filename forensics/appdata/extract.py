"""Which parser reads which payload, and the rows that come out.

Dispatch, per packet (a Candidate: its frame, transport, ports and transport payload):

- UDP 53 (DNS), 5353 (mDNS), 5355 (LLMNR) on either side: DNS; UDP 67/68: DHCP; 546/547: DHCPv6; UDP 123: NTP.
- UDP 443: a client's QUIC Initial (forensics.appdata.quic), its ClientHello a `tls` row (JA4 'q...'); the
  next candidates of its direction are joined when the hello spans several Initials.
  A payload that fails there is counted malformed for that table.
- TCP 53: DNS over TCP (2-byte length prefix; every whole message in the segment).
- Any other UDP port: DNS when the header passes `dns.plausible` (one question, opcode 0, sane counts)
  and the whole message parses; nothing is counted when it does not (it need not be DNS at all).
- Any TCP port: TLS when the payload starts like a handshake record with a Client/ServerHello; HTTP/1.x
  when it starts with a request line of a known method or a status line. A hello cut by the segment's
  end is joined with the next candidate payloads of the same direction (up to MAX_JOIN) before it is read.
- TCP 25, 587, 2525, and directions of any other port whose payload says SMTP (smtp.looks_like: a greeting
  naming SMTP or ESMTP, an EHLO/HELO; the other direction of such a one): SMTP commands and replies, a
  DATA body or BDAT chunk skipped with state carried along the direction (a TLS hello after STARTTLS is
  still read as TLS).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from forensics.appdata import dhcp, dhcp6, dns, http, ntp, quic, smtp, tls
from forensics.appdata.wire import Malformed

TABLES = ("dns", "dhcp", "dhcp6", "ntp", "tls", "http", "smtp")
DNS_PORTS = {53: "dns", 5353: "mdns", 5355: "llmnr"}
DHCP_PORTS = {67, 68}
NTP_PORT = 123
MAX_JOIN = 4  # segments joined to complete a TLS hello (a post-quantum ClientHello spans two)


@dataclass
class Candidate:
    """One packet's transport payload and what is known of it from the packets table."""

    frame: int
    ip_proto: int
    src_port: int
    dst_port: int
    payload: bytes
    key: tuple = ()  # same for packets of one direction of one connection (for joining segments)
    cut: bool = False  # the capture kept fewer bytes than were on the wire (snap length)


@dataclass
class Extracted:
    """Rows per table (dicts with 'frame' and the parser's columns) and malformed payloads per table."""

    tables: dict[str, list[dict]] = field(default_factory=lambda: {t: [] for t in TABLES})
    malformed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    truncated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    smtp_skip: dict[tuple, int] = field(default_factory=dict)  # direction -> smtp.parse's skip (a DATA body...)
    smtp_directions: set[tuple] = field(default_factory=set)  # directions found speaking SMTP on another port

    def bad(self, table: str, c: Candidate) -> None:
        """A payload of `table`'s protocol that did not parse: malformed, or truncated when the capture cut it."""
        (self.truncated if c.cut else self.malformed)[table] += 1

    def add(self, table: str, frame: int, row: dict) -> None:
        row["frame"] = frame
        self.tables[table].append(row)


def _dns_service(c: Candidate) -> str | None:
    return DNS_PORTS.get(c.src_port) or DNS_PORTS.get(c.dst_port)


def _udp(c: Candidate, following: Callable[[], list[Candidate]], out: Extracted) -> None:
    ports = (c.src_port, c.dst_port)
    service = _dns_service(c)
    if quic.PORT in ports and not service and not (set(ports) & (DHCP_PORTS | set(dhcp6.PORTS) | {NTP_PORT})):
        if quic.looks_like(c.payload):
            try:
                row = quic.client_hello([c.payload, *(x.payload for x in following()[:quic.MAX_JOIN])])
            except tls.Cut:
                return
            except (Malformed, IndexError, ValueError):  # opened, but its frames or hello are damaged
                out.bad("tls", c)
                return
            if row is not None:
                out.add("tls", c.frame, row)
        return
    table = "dns" if service else "dhcp" if ports[0] in DHCP_PORTS or ports[1] in DHCP_PORTS \
        else "dhcp6" if ports[0] in dhcp6.PORTS or ports[1] in dhcp6.PORTS else "ntp" if NTP_PORT in ports else None
    try:
        if service:
            row = dns.parse(c.payload)
            row.update(service=service, transport="udp")
        elif table == "dhcp":
            row = dhcp.parse(c.payload)
        elif table == "dhcp6":
            row = dhcp6.parse(c.payload)
        elif table == "ntp":
            row = ntp.parse(c.payload)
        elif dns.plausible(c.payload):
            try:
                row = dns.parse(c.payload)
            except Malformed:
                return
            table = "dns"
            row.update(service="dns", transport="udp")
        else:
            return
    except Malformed:
        out.bad(table, c)
        return
    out.add(table, c.frame, row)


def _tcp(c: Candidate, following: Callable[[], list[Candidate]], out: Extracted) -> None:
    """`following()`: the next candidates of the same direction (for joining a cut hello)."""
    data = c.payload
    if 53 in (c.src_port, c.dst_port) and len(data) >= 2:
        i = 0
        while i + 2 <= len(data):
            n = (data[i] << 8) | data[i + 1]
            if i + 2 + n > len(data):
                break  # continues in the next segment
            try:
                row = dns.parse(data[i + 2:i + 2 + n])
            except Malformed:
                out.bad("dns", c)
                return
            row.update(service="dns", transport="tcp")
            out.add("dns", c.frame, row)
            i += 2 + n
        return
    on_smtp = c.src_port in smtp.PORTS or c.dst_port in smtp.PORTS or c.key in out.smtp_directions
    if on_smtp and out.smtp_skip.get(c.key):
        _smtp(c, out)  # inside a message: not a hello, not a head, whatever it starts with
        return
    if tls.looks_like(data):
        for extra in [None, *following()]:
            if extra is not None:
                if tls.looks_like(extra.payload):
                    return
                data += extra.payload
            try:
                out.add("tls", c.frame, tls.parse(data))
                return
            except tls.Cut:
                continue
            except Malformed:
                out.bad("tls", c)
                return
        return
    if on_smtp or _reverse(c.key) in out.smtp_directions or smtp.looks_like(data):
        out.smtp_directions.add(c.key)
        _smtp(c, out)
        return
    if http.looks_like(data):
        try:
            out.add("http", c.frame, http.parse(data))
        except Malformed:
            out.bad("http", c)


def _smtp(c: Candidate, out: Extracted) -> None:
    try:
        rows, skip = smtp.parse(c.payload, out.smtp_skip.get(c.key, 0))
    except Malformed as exc:
        rows, skip = exc.rows, 0  # type: ignore[attr-defined]
        out.bad("smtp", c)
    for row in rows:
        out.add("smtp", c.frame, row)
    if skip:
        out.smtp_skip[c.key] = skip
    else:
        out.smtp_skip.pop(c.key, None)


def _reverse(key: tuple) -> tuple:
    """The other direction's key (keys are (src_hi, src_lo, dst_hi, dst_lo, src_port, dst_port))."""
    return (key[2], key[3], key[0], key[1], key[5], key[4]) if len(key) == 6 else key


def extract(candidates: list[Candidate], out: Extracted | None = None) -> Extracted:
    """Rows of every table from candidate packets in frame order (added to `out`, carrying on its state, when
    given: later segments of directions already read). Never raises on payload content."""
    out = out if out is not None else Extracted()
    for k, c in enumerate(candidates):
        if not c.payload:
            continue
        try:
            if c.ip_proto == 17:
                _udp(c, lambda k=k: _same_key(candidates, k), out)
            elif c.ip_proto == 6:
                _tcp(c, lambda k=k: _same_key(candidates, k), out)
        except (IndexError, ValueError, UnicodeError):  # a parser's gap: counted, the import goes on
            out.bad("dns" if c.ip_proto == 17 else "tls", c)
    return out


def _same_key(candidates: list[Candidate], k: int) -> list[Candidate]:
    key = candidates[k].key
    return [c for c in candidates[k + 1:k + 1 + 64 * MAX_JOIN] if c.key == key][:MAX_JOIN]
