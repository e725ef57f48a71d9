"""The expressions the corpus test runs through both the case database and tcpdump (at least 40).

Each entry is (ours, tcpdump's). They are the same text except for tcp[]/icmp[] relations, restricted to
IPv4 on both sides (`ip and (...)`): libpcap's transport byte loads work on IPv4 only, ours also on IPv6.
"""

from __future__ import annotations

_SAME = [
    "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6", "not ip and not ip6", "ip proto 47", "proto 17",
    "sctp", "igmp", "ip6 proto 58",
    "port 53", "udp port 53", "tcp port 80", "tcp dst port 445", "src port 443", "portrange 1-1023",
    "tcp portrange 1024-65535", "port 80 or 443", "not port 53", "udp dst port 2055 or 4739 or 6343",
    "port 123", "udp and (port 67 or 68)", "src or dst port domain",
    "net 10.0.0.0/8", "net 192.168.0.0/16", "src net 172.16.0.0/12", "dst net 224.0.0.0/4",
    "net 192.168.0.0 mask 255.255.0.0", "net 2001:db8::/32", "ip6 and net fe80::/10", "net 10",
    "not net 10.0.0.0/8 and ip", "dst net ::/0",
    "host 172.16.0.8", "src host 10.0.0.11 or 192.168.1.6", "dst host 203.0.113.90 and udp",
    "host 2001:db8:90::1", "not host 172.16.42.216 and 172.17.0.184", "src and dst net 172.16.0.0/12",
    "less 100", "greater 1000", "len > 60 and len < 200", "less 64 or greater 1500",
    "tcp and port 80 or udp and port 53", "not tcp and not udp", "! (tcp || udp) && ip",
    "udp or tcp and port 80", "ip and not (icmp or tcp)",
]
_IPV4_RELATIONS = [
    "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "tcp[13] & 4 != 0",
    "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0 and not port 80", "tcp[tcpflags] == tcp-ack",
    "icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply", "icmp[icmpcode] != 0",
]
# Tag primitives: compared on Ethernet captures only, as given (libpcap reads the outer tag the same way).
VLAN_EXPRS = ["vlan", "vlan 5", "vlan 1213 or vlan 4093", "vlan and udp", "not vlan"]

EXPRESSIONS: list[tuple[str, str]] = [(e, e) for e in _SAME] + [(f"ip and ({e})", f"ip and ({e})")
                                                                 for e in _IPV4_RELATIONS]
