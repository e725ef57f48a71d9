"""The office network the demo traffic lives in, and its ordinary traffic.

Home network 10.10.0.0/16 (IPv6 fd00:a:a::/48): clients in 10.10.1.0/24 and 10.10.2.0/24, a
VLAN-tagged client subnet 10.10.4.0/24 (VLAN 40), servers in 10.10.0.0/24 (DNS resolver .53, file
server .20 for SMB, intranet web .80, NTP .123, monitoring .5). Internet peers are drawn per seed from
public address blocks (IPv6 peers from 2001:db8::/32), with a heavy-tailed popularity.

`office_traffic` draws a packet budget of ordinary traffic (HTTPS, HTTP, intranet web, SMB, DNS,
QUIC, NTP, ping; about 10 % IPv6) with conversations opened inside [t0, t1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from forensics.demo.dns import DNS_NAMES  # noqa: F401  (re-exported: the office's names)
from forensics.demo.flows import FlowSet, icmp_echoes, tcp_sessions, udp_exchanges
from forensics.demo.packets import (
    APP_DNS_QUERY,
    APP_DNS_RESPONSE,
    APP_NTP,
    APP_NTP_REPLY,
    APP_RAW,
    V4_MAPPED,
    PacketPlan,
    v4,
)

SizeDraw = Callable[[np.random.Generator, int], np.ndarray]  # (rng, n) -> n conversation sizes

HOME_NET = "10.10.0.0/16"
HOME_NET6 = "fd00:a:a::/48"
HOME6_HI = 0xFD00_000A_000A_0000  # fd00:a:a:<subnet>::/64 -> hi = HOME6_HI | subnet

DNS_SERVER = "10.10.0.53"
FILE_SERVER = "10.10.0.20"
WEB_SERVER = "10.10.0.80"
NTP_SERVER = "10.10.0.123"
MONITOR = "10.10.0.5"
VLAN_TAGGED = 40  # clients in 10.10.4.0/24 are on this 802.1Q VLAN

# First octets of the internet peer pool: public unicast blocks, never private or reserved.
_PUBLIC_OCTETS = np.array([13, 18, 23, 31, 34, 35, 40, 52, 54, 64, 66, 74, 88, 95, 104, 142, 151, 157,
                           185, 199, 208], dtype=np.uint64)


def _clients() -> tuple[np.ndarray, np.ndarray]:
    """(IPv4 mapped low halves, VLAN ids) of the office clients."""
    hosts = ([f"10.10.1.{h}" for h in range(10, 70)] + [f"10.10.2.{h}" for h in range(10, 50)]
             + ["10.10.2.66"] + [f"10.10.4.{h}" for h in range(10, 22)])
    lo = np.array([v4(h) for h in hosts], dtype=np.uint64)
    vlan = np.where((lo >> np.uint64(8)) & np.uint64(0xFF) == 4, VLAN_TAGGED, 0).astype(np.uint16)
    return lo, vlan


CLIENTS, CLIENT_VLANS = _clients()


def public_v4(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random public IPv4 addresses (mapped low halves)."""
    first = _PUBLIC_OCTETS[rng.integers(0, len(_PUBLIC_OCTETS), n)]
    rest = rng.integers(0x000101, 0xFFFFFE, n, dtype=np.int64).astype(np.uint64)
    return np.uint64(V4_MAPPED) | (first << np.uint64(24)) | rest


class Peers:
    """The internet peers of one generated file, with Zipf-like popularity."""

    def __init__(self, rng: np.random.Generator, n4: int = 400, n6: int = 60) -> None:
        self.v4 = public_v4(rng, n4)
        self.v6_hi = np.uint64(0x2001_0DB8_0000_0000) | rng.integers(1, 0xFFFF, n6).astype(np.uint64) << np.uint64(16)
        self.v6_lo = rng.integers(1, 0xFFFF, n6).astype(np.uint64)
        self._w4 = self._zipf(n4)
        self._w6 = self._zipf(n6)

    @staticmethod
    def _zipf(n: int) -> np.ndarray:
        w = 1.0 / np.arange(1, n + 1) ** 1.1
        return np.cumsum(w / w.sum())

    def pick(self, rng: np.random.Generator, v6: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Server address halves for flows, IPv6 where v6 is set."""
        n = len(v6)
        i4 = np.minimum(np.searchsorted(self._w4, rng.random(n)), len(self.v4) - 1)
        i6 = np.minimum(np.searchsorted(self._w6, rng.random(n)), len(self.v6_lo) - 1)
        hi = np.where(v6, self.v6_hi[i6], np.uint64(0))
        lo = np.where(v6, self.v6_lo[i6], self.v4[i4])
        return hi.astype(np.uint64), lo.astype(np.uint64)


def decimal_as_hex(x: np.ndarray) -> np.ndarray:
    """An octet's decimal digits as hex digits (53 -> 0x53), so 10.10.0.53 has the twin fd00:a:a::53."""
    x = np.asarray(x, np.uint64)
    return (x // np.uint64(100)) << np.uint64(8) | (x // np.uint64(10) % np.uint64(10)) << np.uint64(4) \
        | x % np.uint64(10)


def hex_as_decimal(x: np.ndarray) -> np.ndarray:
    """Inverse of decimal_as_hex (0x53 -> 53)."""
    x = np.asarray(x, np.uint64)
    return (x >> np.uint64(8) & np.uint64(15)) * np.uint64(100) + (x >> np.uint64(4) & np.uint64(15)) * np.uint64(10) \
        + (x & np.uint64(15))


def client_addrs(idx: np.ndarray, v6: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Address halves of clients `idx`: 10.10.S.H, or its IPv6 twin fd00:a:a:S::H for IPv6 flows."""
    lo4 = CLIENTS[idx]
    subnet = decimal_as_hex((lo4 >> np.uint64(8)) & np.uint64(0xFF))
    host = decimal_as_hex(lo4 & np.uint64(0xFF))
    hi = np.where(v6, np.uint64(HOME6_HI) | subnet, np.uint64(0))
    lo = np.where(v6, host, lo4)
    return hi.astype(np.uint64), lo.astype(np.uint64)


def server_addrs(text4: str, v6: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An office server's address halves: 10.10.0.H, or its IPv6 twin fd00:a:a::H for IPv6 flows."""
    lo4 = np.uint64(v4(text4))
    hi = np.where(v6, np.uint64(HOME6_HI), np.uint64(0)).astype(np.uint64)
    lo = np.where(v6, decimal_as_hex(lo4 & np.uint64(0xFF)), lo4).astype(np.uint64)
    return hi, lo


def split_budget(rng: np.random.Generator, budget: int, draw: SizeDraw) -> np.ndarray:
    """Packet counts per conversation (from `draw(rng, n)`) summing to exactly `budget`."""
    if budget <= 0:
        return np.zeros(0, np.int64)
    parts: list[np.ndarray] = []
    total = 0
    while total < budget:
        k = np.maximum(draw(rng, 256 + budget // 20), 1).astype(np.int64)
        parts.append(k)
        total += int(k.sum())
    k = np.concatenate(parts)
    c = np.cumsum(k)
    m = int(np.searchsorted(c, budget)) + 1
    k = k[:m].copy()
    k[-1] -= int(c[m - 1]) - budget
    return k[k > 0]


def _flows(rng: np.random.Generator, k: np.ndarray, t0: int, t1: int, t_end: int, v6_share: float,
           server: str | Peers, sport: int | np.ndarray, gap_us: float) -> FlowSet:
    n = len(k)
    v6 = rng.random(n) < v6_share
    idx = rng.integers(0, len(CLIENTS), n)
    c_hi, c_lo = client_addrs(idx, v6)
    s_hi, s_lo = server.pick(rng, v6) if isinstance(server, Peers) else server_addrs(server, v6)
    start = rng.integers(t0, max(t0 + 1, t1), n)
    # a conversation is expected to end within half the time left in the window
    gap_us = np.minimum(rng.uniform(0.3, 1.7, n) * gap_us, (t_end - start) / (2.0 * k))
    return FlowSet(v6=v6, vlan=CLIENT_VLANS[idx], c_hi=c_hi, c_lo=c_lo, s_hi=s_hi, s_lo=s_lo,
                   cport=rng.integers(49152, 65536, n).astype(np.int32),
                   sport=np.broadcast_to(np.asarray(sport, np.int32), (n,)).copy(),
                   start=start.astype(np.int64), k=k, gap_us=gap_us)


def _heavy(extra: float, cap: int = 20_000) -> SizeDraw:
    """Heavy-tailed conversation sizes: at least 7 packets (handshake, data, teardown), Pareto tail."""
    return lambda rng, n: np.minimum(7 + np.floor(extra * rng.pareto(1.5, n)), cap)


# Ordinary traffic mix: (share of packets, kind).
MIX = [
    (0.55, "https"), (0.07, "http"), (0.06, "intranet"), (0.10, "smb"), (0.06, "dns"),
    (0.115, "quic"), (0.005, "ntp"), (0.04, "ping"),
]


def office_traffic(rng: np.random.Generator, peers: Peers, budget: int, t0: int, t1: int,
                   v6_share: float = 0.10) -> PacketPlan:
    """Exactly `budget` packets of ordinary office traffic, conversations opened in [t0, t1).

    Times are clipped to t1 - 1, so a conversation never runs past the window.
    """
    plans: list[PacketPlan] = []
    shares = [int(budget * s) for s, _ in MIX]
    shares[0] += budget - sum(shares)
    open_until = t1 - min(300_000_000, (t1 - t0) // 10)
    for share, (_, kind) in zip(shares, MIX, strict=True):
        if share <= 0:
            continue
        if kind in ("https", "http", "intranet", "smb"):
            extra, gap, server, port = {
                "https": (16.0, 20_000, peers, 443), "http": (8.0, 30_000, peers, 80),
                "intranet": (10.0, 15_000, WEB_SERVER, 443), "smb": (60.0, 40_000, FILE_SERVER, 445),
            }[kind]
            k = split_budget(rng, share, _heavy(extra))
            fs = _flows(rng, k, t0, open_until, t1, v6_share, server, port, gap)
            plans.append(tcp_sessions(rng, fs, down_share=0.5 if kind == "smb" else 0.7))
        elif kind == "dns":
            k = split_budget(rng, share, lambda r, n: np.where(r.random(n) < 0.05, 1, 2))
            fs = _flows(rng, k, t0, open_until, t1, v6_share, DNS_SERVER, 53, 25_000)
            names = rng.integers(0, len(DNS_NAMES), len(k)).astype(np.uint64)
            aux = names << np.uint64(48) | rng.integers(0, 1 << 48, len(k), dtype=np.int64).astype(np.uint64)
            plans.append(udp_exchanges(rng, fs, APP_DNS_QUERY, APP_DNS_RESPONSE, aux=aux))
        elif kind == "quic":
            k = split_budget(rng, share, _heavy(12.0, 5_000))
            fs = _flows(rng, k, t0, open_until, t1, v6_share, peers, 443, 20_000)
            plan = udp_exchanges(rng, fs, APP_RAW, APP_RAW, reply_share=0.6)
            plan.paylen = rng.integers(30, 1250, len(plan)).astype(np.int32)
            plans.append(plan)
        elif kind == "ntp":
            k = split_budget(rng, share, lambda r, n: np.full(n, 2))
            fs = _flows(rng, k, t0, open_until, t1, 0.0, NTP_SERVER, 123, 2_000)
            fs.cport[:] = 123
            plans.append(udp_exchanges(rng, fs, APP_NTP, APP_NTP_REPLY))
        else:  # ping
            k = split_budget(rng, share, lambda r, n: 2 * r.integers(2, 11, n))
            fs = _flows(rng, k, t0, open_until, t1, v6_share, peers, 0, 1_000_000)
            fs.cport[:] = rng.integers(1, 65536, len(k))
            plans.append(icmp_echoes(rng, fs))
    plan = PacketPlan.concat(plans)
    plan.ts_us = np.minimum(plan.ts_us, t1 - 1)
    return plan


def monitoring_pings(rng: np.random.Generator, t0: int, t1: int, every_s: int = 60) -> PacketPlan:
    """The monitoring host pings the three core servers every `every_s` seconds, day and night."""
    targets = [DNS_SERVER, FILE_SERVER, WEB_SERVER]
    n = (t1 - t0) // (every_s * 1_000_000)
    plans = []
    for j, target in enumerate(targets):
        v6 = np.zeros(n, bool)
        s_hi, s_lo = server_addrs(target, v6)
        start = t0 + np.arange(n, dtype=np.int64) * every_s * 1_000_000 + j * 1_000 + rng.integers(0, 500, n)
        fs = FlowSet(v6=v6, vlan=np.zeros(n, np.uint16), c_hi=np.zeros(n, np.uint64),
                     c_lo=np.full(n, v4(MONITOR), np.uint64), s_hi=s_hi, s_lo=s_lo,
                     cport=np.full(n, 0x4D00 + j, np.int32), sport=np.zeros(n, np.int32),
                     start=start, k=np.full(n, 2, np.int64), gap_us=np.full(n, 300.0))
        plan = icmp_echoes(rng, fs)
        plan.dport = np.repeat(np.arange(1, n + 1, dtype=np.int32), 2)
        plans.append(plan)
    return PacketPlan.concat(plans)
