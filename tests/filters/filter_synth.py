"""Synthetic packets whose decoded fields are known from their construction (no decoder involved).

`Spec` describes one packet; `frame(spec)` builds its Ethernet bytes with tests/builders.py and
`batch(specs)` the matching packets-table rows, so a filter's SQL answer can be compared with tcpdump
on the same bytes.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
from builders import (
    DEFAULT_SRC_MAC,
    ETH_ARP,
    ETH_IPV4,
    ETH_IPV6,
    TPID_8021Q,
    eth,
    icmp,
    icmp6,
    ipv4,
    ipv6,
    pcap_file,
    tcp,
    udp,
)

from forensics.netaddr import ip_to_int
from forensics.records import empty_batch

V4 = ["10.0.0.1", "10.0.0.2", "10.1.2.3", "192.168.1.10"]
V6 = ["2001:db8::1", "2001:db8::2", "2001:db8:1::5", "fe80::1"]
PORTS = [22, 53, 80, 443, 445, 1024, 50000]
KINDS = ["tcp4", "udp4", "icmp4", "gre4", "tcp6", "udp6", "icmp6", "arp"]
ARP_ADDRS = ("198.51.100.1", "198.51.100.2")  # outside the IP host/net the expressions name
ARP_SHA = bytes.fromhex("020000000001")
# Destination MACs: unicast, broadcast, IPv4 multicast (group bit set).
DST_MACS = [bytes.fromhex("020000000002"), b"\xff" * 6, bytes.fromhex("01005e0000fb")]


@dataclass(frozen=True)
class Spec:
    """One synthetic packet."""

    kind: str
    src: int = 0  # index into V4 / V6
    dst: int = 1
    sport: int = 80
    dport: int = 443
    flags: int = 2
    icmp_type: int = 8
    icmp_code: int = 0
    vlan: int | None = None
    pad: int = 0
    dst_mac: int = 0  # index into DST_MACS
    arp_op: int = 1


def _addrs(s: Spec) -> tuple[str, str]:
    pool = V6 if s.kind.endswith("6") else V4
    return pool[s.src % len(pool)], pool[s.dst % len(pool)]


def frame(s: Spec) -> bytes:
    """Ethernet bytes of the packet (single 802.1Q tag when s.vlan is set)."""
    payload = b"\xab" * s.pad
    src, dst = _addrs(s)
    if s.kind == "arp":
        body = (bytes.fromhex("000108000604") + s.arp_op.to_bytes(2, "big") + ARP_SHA
                + ipaddress.ip_address(ARP_ADDRS[0]).packed + b"\x00" * 6
                + ipaddress.ip_address(ARP_ADDRS[1]).packed)
        ethertype, net = ETH_ARP, body
    elif s.kind.endswith("4"):
        proto, seg = {
            "tcp4": (6, lambda: tcp(s.sport, s.dport, s.flags, payload)),
            "udp4": (17, lambda: udp(s.sport, s.dport, payload)),
            "icmp4": (1, lambda: icmp(s.icmp_type, s.icmp_code, payload)),
            "gre4": (47, lambda: b"\x00\x00\x08\x00" + payload),
        }[s.kind]
        ethertype, net = ETH_IPV4, ipv4(src, dst, proto, seg())
    else:
        proto, seg = {
            "tcp6": (6, lambda: tcp(s.sport, s.dport, s.flags, payload)),
            "udp6": (17, lambda: udp(s.sport, s.dport, payload)),
            "icmp6": (58, lambda: icmp6(s.icmp_type, s.icmp_code, b"\x00\x00\x00\x00" + payload)),
        }[s.kind]
        ethertype, net = ETH_IPV6, ipv6(src, dst, proto, seg())
    tags = [(TPID_8021Q, s.vlan)] if s.vlan is not None else []
    return eth(ethertype, net, tags=tags, dst=DST_MACS[s.dst_mac % len(DST_MACS)])


def pcap_bytes(specs: list[Spec]) -> bytes:
    """A pcap (Ethernet, microseconds) holding the packets, one per millisecond."""
    return pcap_file([(1_700_000_000 + i / 1000, frame(s)) for i, s in enumerate(specs)])


def batch(specs: list[Spec]) -> dict[str, np.ndarray]:
    """The packets-table rows of pcap_bytes(specs), from the construction."""
    b = empty_batch(len(specs))
    offset = 24
    for i, s in enumerate(specs):
        data = frame(s)
        b["frame"][i] = i + 1
        b["ts_us"][i] = 1_700_000_000_000_000 + i * 1000
        b["file_offset"][i] = offset
        offset += 16 + len(data)
        b["linktype"][i] = 1
        b["caplen"][i] = b["wirelen"][i] = len(data)
        b["malformed"][i] = False
        if s.vlan is not None:
            b["vlan"][i] = s.vlan
        b["src_mac"][i] = int.from_bytes(DEFAULT_SRC_MAC, "big")
        b["dst_mac"][i] = int.from_bytes(DST_MACS[s.dst_mac % len(DST_MACS)], "big")
        if s.kind == "arp":
            b["eth_type"][i] = ETH_ARP
            b["arp_op"][i] = s.arp_op
            b["arp_sha"][i] = int.from_bytes(ARP_SHA, "big")
            b["arp_tha"][i] = 0
            b["arp_spa"][i], b["arp_tpa"][i] = (int(ipaddress.ip_address(a)) for a in ARP_ADDRS)
            continue
        v6 = s.kind.endswith("6")
        b["eth_type"][i] = ETH_IPV6 if v6 else ETH_IPV4
        b["ip_version"][i] = 6 if v6 else 4
        src, dst = (ip_to_int(a) for a in _addrs(s))
        b["src_hi"][i], b["src_lo"][i] = src >> 64, src & 0xFFFFFFFFFFFFFFFF
        b["dst_hi"][i], b["dst_lo"][i] = dst >> 64, dst & 0xFFFFFFFFFFFFFFFF
        b["ip_proto"][i] = {"tcp": 6, "udp": 17, "icmp": 1 if not v6 else 58, "gre": 47}[s.kind[:-1]]
        b["ttl"][i] = 64
        if s.kind[:-1] in ("tcp", "udp"):
            b["src_port"][i], b["dst_port"][i] = s.sport, s.dport
        if s.kind[:-1] == "tcp":
            b["tcp_flags"][i] = s.flags
        if s.kind[:-1] == "icmp":
            b["icmp_type"][i], b["icmp_code"][i] = s.icmp_type, s.icmp_code
    return b


def load(case: object, specs: list[Spec], path: str = "synthetic.pcap") -> None:
    """Fill `case` (a forensics.store.Case) with the rows of `specs` as one capture."""
    import hashlib
    import os

    from forensics.store import CaptureMeta

    if os.path.isfile(path):  # the real file's hash and size, so that byte offsets can read it back
        with open(path, "rb") as f:
            sha, size = hashlib.sha256(f.read()).hexdigest(), os.path.getsize(path)
    else:
        sha, size = f"synthetic-{id(specs)}-{len(specs)}", 0
    with case.importing(CaptureMeta(path=path, sha256=sha, size_bytes=size,
                                    format="pcap-le-usec", link_types="ether(1)")) as writer:
        writer.add_interface(0, 0, 1, 65535, 1000)
        writer.append_packets(batch(specs))
