"""Generated flows whose report answers are known by construction, and a pure-Python oracle for them.

Every flow has a distinct byte count, so item totals never tie and the top-N order is unique.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import random
from collections import defaultdict
from dataclasses import dataclass

from forensics.netaddr import int_to_ip, ip_to_int
from forensics.store import CaptureMeta, Case

T0 = dt.datetime(2016, 9, 6, 12, 0)
SPAN = dt.timedelta(hours=2)
BIN = 300
HOME_NETS = [ipaddress.ip_network(n) for n in
             ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")]
HOME_HOSTS = ["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.2.0.7", "192.168.5.9", "fd00::1", "fd00::2"]
NET_HOSTS = ["8.8.8.8", "1.1.1.1", "203.0.113.5", "198.51.100.20", "2001:db8::1", "2001:db8::2"]
PORTS = [445, 139, 135, 137, 80, 443, 53, 22, 3389, 50000, 51000]
PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp"}
WANNACRY = {(p, port) for p in (6, 17) for port in (135, 137, 138, 139, 445)}


def epoch_us(t: dt.datetime) -> int:
    return int((t - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))


def is_home(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return any(addr.version == n.version and addr in n for n in HOME_NETS)


@dataclass
class Flow:
    src: str
    dst: str
    proto: int
    sport: int | None
    dport: int | None
    ts: dt.datetime
    packets: int
    bytes: int
    in_if: int | None
    out_if: int | None
    vlan: int | None
    src_as: int | None
    dst_as: int | None
    source: str = "nfdump_csv"

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.src).version

    @property
    def bin(self) -> dt.datetime:
        secs = int((self.ts - dt.datetime(1970, 1, 1)).total_seconds()) // BIN * BIN
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=secs)

    def record(self) -> dict:
        return {"source": self.source, "first_ts_us": epoch_us(self.ts), "last_ts_us": epoch_us(self.ts) + 1000,
                "ip_version": self.version, "src_ip": ip_to_int(self.src), "dst_ip": ip_to_int(self.dst),
                "ip_proto": self.proto, "src_port": self.sport, "dst_port": self.dport, "in_if": self.in_if,
                "out_if": self.out_if, "vlan": self.vlan, "src_as": self.src_as, "dst_as": self.dst_as,
                "packets": self.packets, "bytes": self.bytes}


def make_flows(n: int = 400, seed: int = 7) -> list[Flow]:
    """n flows over [T0, T0 + 2 h), same family on both ends, distinct byte counts."""
    rng = random.Random(seed)
    sizes = rng.sample(range(1_000, 50_000_000), n)
    flows = []
    for i in range(n):
        version = rng.choice((4, 4, 4, 6))
        home = [h for h in HOME_HOSTS if ipaddress.ip_address(h).version == version]
        internet = [h for h in NET_HOSTS if ipaddress.ip_address(h).version == version]
        src = rng.choice(home if rng.random() < 0.6 else internet)
        dst = rng.choice(home if rng.random() < 0.4 else internet)
        proto = rng.choice((6, 6, 17, 1))
        sport, dport = (None, None) if proto == 1 else (rng.choice(PORTS), rng.choice(PORTS))
        ts = T0 + dt.timedelta(microseconds=rng.randrange(int(SPAN.total_seconds() * 1e6)))
        flows.append(Flow(src, dst, proto, sport, dport, ts, rng.randrange(1, 5000), sizes[i],
                          rng.choice((1, 2, None)), rng.choice((3, 4)), rng.choice((None, 10, 20)),
                          rng.choice((0, 64500, 64501)), rng.choice((0, 64502, 15169))))
    return flows


def load_case(path: str, flows: list[Flow]) -> Case:
    """A case holding the flows (one capture)."""
    case = Case.open(path)
    with case.importing(CaptureMeta("generated.csv", "0" * 64, 1, "nfdump-csv")) as writer:
        writer.append_flow_records([f.record() for f in flows])
    return case


# --- oracle ---------------------------------------------------------------------------------------------

def rate(bits: float, secs: float) -> float:
    return bits / secs


def top_n(totals: dict, n: int) -> tuple[list, list]:
    """(top keys in order, the rest) by descending total."""
    ordered = sorted(totals, key=lambda k: -totals[k])
    return ordered[:n], ordered[n:]


def grouped(flows: list[Flow], key, value) -> tuple[dict, dict]:
    """(total per key, per (key, bin)) of value(flow) for flows with key(flow) not None-excluded."""
    total: dict = defaultdict(float)
    per_bin: dict = defaultdict(float)
    for f in flows:
        for k, v in key(f):
            total[k] += value(f, v)
            per_bin[(k, f.bin)] += value(f, v)
    return total, per_bin


def ip_text(ip: str) -> str:
    return int_to_ip(ip_to_int(ip))
