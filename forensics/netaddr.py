"""Addresses as integers: IPv4 as the IPv4-mapped IPv6 address (::ffff:a.b.c.d), IPv6 as itself.

One 128-bit space for both families, so a CIDR block is the range [first, last] and matching it is a
range comparison on the UHUGEINT columns of the case database.
"""

from __future__ import annotations

import ipaddress

V4_MAPPED = 0xFFFF << 32


def ip_to_int(text: str) -> int:
    """'10.0.0.1' -> ::ffff:10.0.0.1 as int; '2001:db8::1' -> its int."""
    addr = ipaddress.ip_address(text.strip())
    if addr.version == 4:
        return V4_MAPPED | int(addr)
    return int(addr)


def int_to_ip(value: int) -> str:
    """Inverse of ip_to_int: dotted quad for IPv4-mapped values, RFC 5952 text otherwise."""
    if value >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return str(ipaddress.IPv6Address(value))


def cidr_range(text: str) -> tuple[int, int]:
    """'10.1.2.0/24' -> (first, last) in the mapped space. A bare address is a /32 or /128.

    Accepts 'a.b.c.d mask m.m.m.m' as well (pcap-filter's `net ... mask ...`).
    """
    text = text.strip()
    if " mask " in text:
        net, mask = text.split(" mask ", 1)
        network = ipaddress.ip_network(f"{net.strip()}/{mask.strip()}", strict=False)
    else:
        network = ipaddress.ip_network(text, strict=False)
    first, last = int(network.network_address), int(network.broadcast_address)
    if network.version == 4:
        return V4_MAPPED | first, V4_MAPPED | last
    return first, last

