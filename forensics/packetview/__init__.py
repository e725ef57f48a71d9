"""The packet view: tcpdump's text for packets, decoded from their original bytes.

    view = PacketView(ViewOptions(link_header=False, verbose=0, ts_mode=1))
    for rec in records:                               # ts in ns, link type, captured bytes, wire length
        print(view.line(rec.ts_ns, rec.ref.linktype, rec.data, rec.ref.wirelen))
        for line in view.dump(rec.ref.linktype, rec.data, "X", link=False):
            print(line)

`tcpdump -nn` is the oracle (TZ=UTC: times are UTC here). What differs on purpose is in docs/filters.md
("The packet view"). Modules: link (Ethernet/VLAN/SLL/null/raw), ip (IPv4/IPv6), tcp, udp, icmp, icmp6, arp,
dns, appudp (BOOTP/DHCP, DHCPv6, NTP), ntpv (NTP at -v), txtproto (HTTP/SMTP/FTP first lines), dump (-x/-X/-A), timefmt.
"""

from __future__ import annotations

import datetime as dt
import struct

from forensics.netaddr import int_to_ip
from forensics.packetview.dump import ascii_text, dump_lines, hex_lines
from forensics.packetview.link import link_print
from forensics.packetview.state import ViewOptions, ViewState
from forensics.packetview.tcp import tcp_flags_text
from forensics.packetview.text import Truncated
from forensics.packetview.timefmt import TimeFormat

__all__ = ["PacketView", "ViewOptions", "ascii_text", "dump_lines", "hex_lines", "json_row", "tcp_flags_text",
           "ROW_COLUMNS"]

ROW_COLUMNS = ["capture_id", "frame", "ts", "iface", "linktype", "caplen", "wirelen", "vlan", "vlan_inner",
               "mpls_label", "eth_type", "ip_version", "src_ip", "dst_ip", "ip_proto", "ip_len", "ttl", "ip_id",
               "frag_offset", "frag_flags", "src_port", "dst_port", "tcp_flags", "icmp_type", "icmp_code",
               "malformed"]


class PacketView:
    """tcpdump's lines for a run of packets (keeps the TCP sequence table and the -ttt reference between them)."""

    def __init__(self, options: ViewOptions | None = None) -> None:
        self.state = ViewState(options or ViewOptions())
        self.clock = TimeFormat(self.state.options.ts_mode)

    def line(self, ts_ns: int, linktype: int, data: bytes, wirelen: int) -> str:
        """The summary (two lines with -v for IPv4, as tcpdump)."""
        try:
            text, _ = link_print(self.state, linktype, data, wirelen)
        except Truncated as cut:
            text = f"[|{cut.proto}]"
        except (IndexError, ValueError, struct.error):  # fields past the captured bytes: a truncation mark
            text = "[|packet]"
        return self.clock(ts_ns) + text

    def payload(self, linktype: int, data: bytes) -> bytes:
        """The bytes after the link-layer header (tags included), where tcpdump's -x/-X/-A start."""
        try:
            _, hdrlen = link_print(ViewState(self.state.options), linktype, data, len(data))
        except (Truncated, IndexError, ValueError, struct.error):
            hdrlen = 0
        return data[hdrlen:]

    def dump(self, linktype: int, data: bytes, mode: str, link: bool = False) -> list[str]:
        """-x/-X/-A lines from the network layer, or the whole frame with link=True (-xx/-XX)."""
        return dump_lines(data if link else self.payload(linktype, data), mode) if data else []


def json_row(row: dict) -> dict:
    """A packet row as JSON-ready values (addresses as text, time as ISO 8601 with Z)."""
    out = {}
    for key, value in row.items():
        if key in ("src_ip", "dst_ip") and value is not None:
            out[key] = int_to_ip(int(value))
        elif isinstance(value, dt.datetime):
            out[key] = value.isoformat() + "Z"
        else:
            out[key] = value
    return out
