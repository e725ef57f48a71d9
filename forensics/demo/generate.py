"""Deterministic sample traffic: the demo day and benchmark captures. Same seed, same sha256.

    write_day(Path("sample_data"))            # office_day.pcap + office_day.truth.json
    write_bench_pcap(Path("/tmp/b.pcap"), packets=2_000_000, seed=1)

The demo day (2026-03-10, UTC) is ordinary office traffic inside business hours (08:00-18:00), the
monitoring host's pings day and night, and four planted incidents (see scenarios.py). The truth
sidecar holds the facts the generator put in, computed from the packet plan, not from reading the
file back, so tests can hold the importer and the reports against it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forensics.demo import office, scenarios
from forensics.demo.frames import WrittenCapture, lengths, write_pcap
from forensics.demo.packets import (
    APP_DNS_QUERY,
    ICMP,
    ICMP6,
    TAG_AFTER_HOURS,
    TAG_ROGUE_DNS,
    TAG_SWEEP,
    TAG_SYNFLOOD,
    TCP,
    UDP,
    PacketPlan,
)
from forensics.netaddr import int_to_ip

DAY = dt.datetime(2026, 3, 10)  # a Tuesday; naive UTC
DAY_US = int(DAY.replace(tzinfo=dt.timezone.utc).timestamp()) * 1_000_000
HOUR_US = 3_600 * 1_000_000
BUSINESS_HOURS = (8, 18)  # UTC, [start, end)
GENERATOR_VERSION = 1  # bump when the bytes a seed gives change (bench caches are keyed by it)
DEFAULT_SEED = 7
DEFAULT_PACKETS = 300_000
DAY_NAME = "office_day"

SWEEPER, SWEEP_NET = "10.10.2.66", "10.10.5.0/24"
FLOOD_VICTIM, FLOOD_PORT = office.WEB_SERVER, 80
ROGUE_HOST, ROGUE_SERVER = "10.10.1.42", "203.0.113.53"
NIGHT_CLIENT, NIGHT_SERVER, NIGHT_PORT = "10.10.1.23", "198.51.100.23", 22


def iso(ts_us: int) -> str:
    """Microseconds since the epoch -> 'YYYY-MM-DDTHH:MM:SS.ffffff' (UTC, naive)."""
    return (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(ts_us))).isoformat(timespec="microseconds")


def plan_day(seed: int = DEFAULT_SEED, packets: int = DEFAULT_PACKETS) -> tuple[PacketPlan, dict]:
    """The demo day's packets in capture order and the facts of each planted scenario."""
    rng = np.random.default_rng(seed)
    peers = office.Peers(rng)
    open_, close = DAY_US + BUSINESS_HOURS[0] * HOUR_US, DAY_US + BUSINESS_HOURS[1] * HOUR_US
    sweep, f_sweep = scenarios.sweep(rng, SWEEPER, SWEEP_NET, DAY_US + 11 * HOUR_US + 42 * 60_000_000)
    flood, f_flood = scenarios.synflood(rng, FLOOD_VICTIM, FLOOD_PORT, DAY_US + 15 * HOUR_US + 20 * 60_000_000,
                                        syns=max(200, packets // 25))
    rogue, f_rogue = scenarios.rogue_dns(rng, ROGUE_HOST, ROGUE_SERVER, open_ + 1_800_000_000, close - HOUR_US)
    night, f_night = scenarios.after_hours(rng, NIGHT_CLIENT, NIGHT_SERVER, NIGHT_PORT,
                                           DAY_US + 2 * HOUR_US + 30 * 60_000_000)
    pings = office.monitoring_pings(rng, DAY_US, DAY_US + 24 * HOUR_US)
    planted = [sweep, flood, rogue, night, pings]
    budget = max(1_000, packets - sum(len(p) for p in planted))
    background = office.office_traffic(rng, peers, budget, open_, close)
    plan = PacketPlan.concat([background, *planted]).sorted_by_time()
    facts = {"sweep": f_sweep, "synflood": f_flood, "rogue_dns": f_rogue, "after_hours": f_night}
    for f in facts.values():
        for key in [k for k in f if k.endswith("_ts_us")]:
            f[key.removesuffix("_us")] = iso(f[key])
    return plan, facts


def _addr_text(hi: np.ndarray, lo: np.ndarray) -> list[str]:
    return [int_to_ip(int(h) << 64 | int(low)) for h, low in zip(hi.tolist(), lo.tolist(), strict=True)]


def _top_talkers(plan: PacketPlan, wire: np.ndarray, ip_len: np.ndarray, n: int = 10) -> list[dict]:
    keys = np.stack([plan.src_hi, plan.src_lo], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    wb = np.bincount(inv, weights=wire, minlength=len(uniq)).astype(np.int64)
    ib = np.bincount(inv, weights=ip_len, minlength=len(uniq)).astype(np.int64)
    pk = np.bincount(inv, minlength=len(uniq))
    top = np.lexsort((np.arange(len(uniq)), -wb))[:n]
    names = _addr_text(uniq[top, 0], uniq[top, 1])
    return [{"ip": names[j], "wire_bytes": int(wb[t]), "ip_bytes": int(ib[t]), "packets": int(pk[t])}
            for j, t in enumerate(top)]


def _five_tuples(plan: PacketPlan) -> int:
    has_ports = (plan.proto == TCP) | (plan.proto == UDP)
    cols = [plan.src_hi, plan.src_lo, plan.dst_hi, plan.dst_lo, plan.proto.astype(np.uint64),
            np.where(has_ports, plan.sport, 0).astype(np.uint64), np.where(has_ports, plan.dport, 0).astype(np.uint64)]
    return int(len(np.unique(np.stack(cols, axis=1), axis=0)))


def truth_of(plan: PacketPlan, written: WrittenCapture, facts: dict, seed: int) -> dict:
    """Ground truth of a written capture, computed from its plan."""
    wire, ip_len = lengths(plan)
    tcp = plan.proto == TCP
    tags = {"sweep": TAG_SWEEP, "synflood": TAG_SYNFLOOD, "rogue_dns": TAG_ROGUE_DNS,
            "after_hours": TAG_AFTER_HOURS}
    for name, tag in tags.items():  # cross-check the scenario counts against the plan's tags
        if facts[name]["packets"] != int((plan.tag == tag).sum()):
            raise RuntimeError(f"generator bug: scenario {name} counts disagree with the packet plan")
    return {
        "file": written.path.name, "generator": f"forensics.demo v{GENERATOR_VERSION}", "seed": seed,
        "sha256": written.sha256, "size_bytes": written.size_bytes, "format": "pcap-le-usec", "linktype": 1,
        "packets": written.packets, "wire_bytes": written.wire_bytes, "ip_bytes": int(ip_len.sum()),
        "ipv4": int((~plan.v6).sum()), "ipv6": int(plan.v6.sum()), "vlan_tagged": int((plan.vlan > 0).sum()),
        "vlans": sorted(int(v) for v in np.unique(plan.vlan[plan.vlan > 0])),
        "tcp": int(tcp.sum()), "udp": int((plan.proto == UDP).sum()), "icmp": int((plan.proto == ICMP).sum()),
        "icmp6": int((plan.proto == ICMP6).sum()),
        "tcp_dst_port_445": int((tcp & (plan.dport == 445)).sum()),
        "dns_queries": int((plan.app == APP_DNS_QUERY).sum()),
        "distinct_5tuples_unidirectional": _five_tuples(plan),
        "first_ts_us": int(plan.ts_us[0]), "last_ts_us": int(plan.ts_us[-1]),
        "first_ts": iso(plan.ts_us[0]), "last_ts": iso(plan.ts_us[-1]),
        "day": DAY.date().isoformat(), "business_hours_utc": list(BUSINESS_HOURS),
        "home_net": office.HOME_NET, "home_net6": office.HOME_NET6, "dns_server": office.DNS_SERVER,
        "top_talkers": _top_talkers(plan, wire, ip_len),
        "scenarios": facts,
    }


@dataclass
class DemoCapture:
    """A written demo capture and its ground truth."""

    pcap: Path
    truth_path: Path
    truth: dict


def write_day(out_dir: Path, seed: int = DEFAULT_SEED, packets: int = DEFAULT_PACKETS,
              name: str = DAY_NAME) -> DemoCapture:
    """Write `<out_dir>/<name>.pcap` (about `packets` packets) and `<name>.truth.json`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan, facts = plan_day(seed, packets)
    written = write_pcap(out_dir / f"{name}.pcap", [plan])
    truth = truth_of(plan, written, facts, seed)
    truth_path = out_dir / f"{name}.truth.json"
    truth_path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return DemoCapture(written.path, truth_path, truth)


BENCH_CHUNK = 200_000
BENCH_US_PER_PACKET = 300  # about 3.3 k packets/s on the link


def bench_chunks(packets: int, seed: int) -> Iterator[PacketPlan]:
    """Ordinary office traffic, `packets` in all, BENCH_CHUNK at a time in consecutive time windows."""
    peers = office.Peers(np.random.default_rng([seed, 0]))
    t = DAY_US + BUSINESS_HOURS[0] * HOUR_US
    for c, lo in enumerate(range(0, packets, BENCH_CHUNK)):
        n = min(BENCH_CHUNK, packets - lo)
        rng = np.random.default_rng([seed, c + 1])
        t1 = t + n * BENCH_US_PER_PACKET
        plan = office.office_traffic(rng, peers, n, t, t1)
        yield plan.sorted_by_time()
        t = t1


def write_bench_pcap(path: Path, packets: int, seed: int, digest: bool = False) -> WrittenCapture:
    """A capture of exactly `packets` packets of ordinary traffic, written in chunks (flat memory).

    Same (packets, seed), same bytes. The sha256 is computed only with digest=True.
    """
    return write_pcap(Path(path), bench_chunks(packets, seed), digest=digest)
