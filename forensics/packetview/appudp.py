"""The short forms tcpdump prints for BOOTP/DHCP, DHCPv6 and NTP (NTP's -v fields: ntpv.py)."""

from __future__ import annotations

from forensics.packetview.text import mac

_NTP_MODES = ["unspecified", "symmetric active", "symmetric passive", "Client", "Server", "Broadcast",
              "Control Message", "Reserved"]
_DHCP6 = {1: "solicit", 2: "advertise", 3: "request", 4: "confirm", 5: "renew", 6: "rebind", 7: "reply",
          8: "release", 9: "decline", 10: "reconfigure", 11: "inf-req", 12: "relay-fwd", 13: "relay-reply",
          14: "leasequery", 15: "leasequery-reply", 16: "leasequery-done", 17: "leasequery-data",
          18: "reconfigure-request", 19: "reconfigure-reply", 20: "dhcpv4-query", 21: "dhcpv4-response"}


def bootp_print(data: bytes, length: int) -> str:
    """'BOOTP/DHCP, Request from 00:11:22:33:44:55, length 300' / 'BOOTP/DHCP, Reply, length 300'."""
    if not data:
        return "BOOTP/DHCP [|bootp]"
    op = data[0]
    out = "BOOTP/DHCP, " + {1: "Request", 2: "Reply"}.get(op, f"unknown (0x{op:02x})")
    if len(data) < 3:
        return out + " [|bootp]"
    if data[1] == 1 and data[2] == 6 and op == 1:
        if len(data) < 34:
            return out + " [|bootp]"
        out += " from " + mac(data[28:34])
    return out + f", length {length}"


def ntp_print(data: bytes, length: int, verbose: int = 0) -> str:
    """'NTPv4, Client, length 48'; with -v, a time message's fields as tcpdump's ntp_time_print prints them."""
    if not data:
        return "NTP [|ntp]"
    version = (data[0] >> 3) & 7
    mode = data[0] & 7
    out = f"NTPv{version}, {_NTP_MODES[mode]}, length {length}"
    if verbose:
        from forensics.packetview import ntpv

        out += ntpv.ntp_verbose_text(data, length)
    return out


def dhcp6_print(data: bytes, length: int) -> str:
    """'dhcp6 solicit'."""
    if not data:
        return "dhcp6 [|dhcp6]"
    return "dhcp6 " + _DHCP6.get(data[0], f"msgtype-{data[0]}")


_IKEV2_EXCHANGES = {34: "ikev2_init", 35: "ikev2_auth", 36: "child_sa", 37: "inf2"}


def isakmp_print(data: bytes, length: int) -> str | None:
    """IKEv2 as tcpdump prints it without -v: 'isakmp: parent_sa ikev2_init[I]'; None for IKEv1 (not ours)."""
    if len(data) < 28:
        return "isakmp [|isakmp]"
    major = data[17] >> 4
    if major != 2:
        return None
    etype, flags, msgid = data[18], data[19], int.from_bytes(data[20:24], "big")
    out = "isakmp: " + ("parent_sa" if msgid == 0 else "child_sa ")
    out += " " + _IKEV2_EXCHANGES.get(etype, f"#{etype}")
    if flags & 0x38:
        out += "[" + "".join(c for b, c in ((0x08, "I"), (0x10, "V"), (0x20, "R")) if flags & b) + "]"
    return out


def nat_t_print(data: bytes, length: int) -> str | None:
    """UDP 4500: 'NONESP-encap: isakmp: ...' (a zero marker) or 'UDP-encap: ESP(spi=..,seq=..), length N'."""
    if len(data) >= 4 and data[:4] == b"\x00\x00\x00\x00":
        inner = isakmp_print(data[4:], length - 4)
        return None if inner is None else "NONESP-encap: " + inner
    if len(data) < 8:
        return "UDP-encap: [|esp]"
    spi, seq = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
    return f"UDP-encap: ESP(spi=0x{spi:08x},seq=0x{seq:x}), length {length}"
