"""The incidents planted in the demo day. Each returns its packets and the facts it put in.

- sweep: a WannaCry-like TCP 445 sweep from one office host across a /24 (dead hosts: SYN and two
  retransmissions; closed: SYN, RST-ACK; open: handshake, SMB exchange, RST) and to random internet
  addresses (one SYN, sometimes a retransmission);
- synflood: spoofed internet sources send SYNs to one server's port, the server answers some;
- rogue_dns: one office host asks an external DNS server instead of the office resolver;
- after_hours: one TCP connection (SSH) opened at night to an internet host.
"""

from __future__ import annotations

import numpy as np

from forensics.demo.dns import ROGUE_NAME, ROGUE_ZONE
from forensics.demo.flows import FlowSet, positions, tcp_numbers, tcp_sessions, udp_exchanges
from forensics.demo.office import public_v4
from forensics.demo.packets import (
    ACK,
    APP_DNS_QUERY,
    APP_DNS_RESPONSE,
    PSH,
    RST,
    SYN,
    TAG_AFTER_HOURS,
    TAG_ROGUE_DNS,
    TAG_SWEEP,
    TAG_SYNFLOOD,
    TCP,
    PacketPlan,
    v4,
)
from forensics.netaddr import int_to_ip

SMB_EXCHANGE = [(0, PSH | ACK, 137), (1, PSH | ACK, 180), (0, PSH | ACK, 140), (1, PSH | ACK, 220),
                (0, RST | ACK, 0)]


def _tcp_rows(rng: np.random.Generator, flow: np.ndarray, ts: np.ndarray, d: np.ndarray,
              flags: np.ndarray, paylen: np.ndarray, c_lo: np.ndarray, s_lo: np.ndarray,
              cport: np.ndarray, sport: np.ndarray, tag: int) -> PacketPlan:
    """IPv4 TCP packets from explicit rows (rows of one flow consecutive and in time order)."""
    n = len(flow)
    first = np.flatnonzero(np.r_[True, flow[1:] != flow[:-1]])
    fid = np.cumsum(np.r_[False, flow[1:] != flow[:-1]])
    seq, ack = tcp_numbers(rng, fid, first, d, flags, paylen, len(first))
    fwd = d == 0
    cl, sl = c_lo[flow], s_lo[flow]
    return PacketPlan(
        ts_us=ts.astype(np.int64), v6=np.zeros(n, bool), vlan=np.zeros(n, np.uint16),
        src_hi=np.zeros(n, np.uint64), src_lo=np.where(fwd, cl, sl).astype(np.uint64),
        dst_hi=np.zeros(n, np.uint64), dst_lo=np.where(fwd, sl, cl).astype(np.uint64),
        proto=np.full(n, TCP, np.uint8),
        sport=np.where(fwd, cport[flow], sport[flow]).astype(np.int32),
        dport=np.where(fwd, sport[flow], cport[flow]).astype(np.int32),
        flags=flags.astype(np.uint8), seq=seq, ack=ack, paylen=paylen.astype(np.int32),
        app=np.zeros(n, np.uint8), aux=np.zeros(n, np.uint64), tag=np.full(n, tag, np.uint8),
    )


def sweep(rng: np.random.Generator, sweeper: str, net24: str, t0: int, internet_targets: int = 300,
          n_open: int = 8, n_closed: int = 24) -> tuple[PacketPlan, dict]:
    """TCP 445 sweep of every address of `net24` ('a.b.c.0/24'), then of random internet hosts."""
    base = v4(net24.split("/")[0])
    state = np.zeros(254, np.int8)  # 0 dead, 1 closed, 2 open
    chosen = rng.permutation(254)
    state[chosen[:n_open]] = 2
    state[chosen[n_open:n_open + n_closed]] = 1
    rows: list[tuple[int, int, int, int, int]] = []  # (flow, ts, dir, flags, paylen)
    for h in range(254):
        t = t0 + h * 40_000 + int(rng.integers(0, 5_000))
        if state[h] == 0:
            rows += [(h, t + dt, 0, SYN, 0) for dt in (0, 1_000_000, 3_000_000)]
        elif state[h] == 1:
            rows += [(h, t, 0, SYN, 0), (h, t + 300, 1, RST | ACK, 0)]
        else:
            rows += [(h, t, 0, SYN, 0), (h, t + 300, 1, SYN | ACK, 0), (h, t + 400, 0, ACK, 0)]
            tt = t + 400
            for d, fl, pl in SMB_EXCHANGE:
                tt += int(rng.integers(200, 3_000))
                rows.append((h, tt, d, fl, pl))
    ext = public_v4(rng, internet_targets)
    t_ext = t0 + 254 * 40_000 + 5_000_000 + np.sort(rng.integers(0, 600_000_000, internet_targets))
    retrans = rng.random(internet_targets) < 0.5
    for j in range(internet_targets):
        rows.append((254 + j, int(t_ext[j]), 0, SYN, 0))
        if retrans[j]:
            rows.append((254 + j, int(t_ext[j]) + 1_000_000, 0, SYN, 0))
    a = np.array(rows, dtype=np.int64)
    nflows = 254 + internet_targets
    s_lo = np.concatenate([np.uint64(base) + np.arange(1, 255, dtype=np.uint64), ext])
    c_lo = np.full(nflows, v4(sweeper), np.uint64)
    cport = rng.integers(49152, 65536, nflows)
    sport = np.full(nflows, 445)
    plan = _tcp_rows(rng, a[:, 0], a[:, 1], a[:, 2].astype(np.int8), a[:, 3], a[:, 4], c_lo, s_lo,
                     cport, sport, TAG_SWEEP)
    from_sweeper = a[:, 2] == 0
    facts = {
        "sweeper": sweeper, "target_net": net24, "dst_port": 445,
        "packets": int(len(a)), "packets_from_sweeper": int(from_sweeper.sum()),
        "syn_packets": int((from_sweeper & (a[:, 3] == SYN)).sum()),
        "targets_in_net": 254,
        "open_hosts": [int_to_ip(int(base) + 1 + int(h)) for h in np.flatnonzero(state == 2)],
        "closed_hosts": int((state == 1).sum()), "dead_hosts": int((state == 0).sum()),
        "internet_targets": int(len(np.unique(ext))),
        "distinct_targets": int(len(np.unique(s_lo))),
        "first_ts_us": int(a[:, 1].min()), "last_ts_us": int(a[:, 1].max()),
    }
    return plan, facts


def synflood(rng: np.random.Generator, victim: str, port: int, t0: int, seconds: int = 60,
             syns: int = 12_000, answered: float = 0.25) -> tuple[PacketPlan, dict]:
    """`syns` SYNs from spoofed internet sources to victim:port within `seconds`; some answered."""
    src = public_v4(rng, syns)
    ans = rng.random(syns) < answered
    k = np.where(ans, 2, 1)
    flow, i, _ = positions(k)
    start = t0 + np.sort(rng.integers(0, seconds * 1_000_000, syns))
    ts = start[flow] + i * 250
    d = i.astype(np.int8)
    flags = np.where(i == 0, SYN, SYN | ACK)
    plan = _tcp_rows(rng, flow, ts, d, flags, np.zeros(len(flow), np.int64), src,
                     np.full(syns, v4(victim), np.uint64), rng.integers(1024, 65536, syns),
                     np.full(syns, port), TAG_SYNFLOOD)
    facts = {
        "victim": victim, "dst_port": port, "packets": int(len(flow)), "syn_packets": syns,
        "synack_packets": int(ans.sum()), "distinct_sources": int(len(np.unique(src))),
        "first_ts_us": int(ts.min()), "last_ts_us": int(ts.max()),
    }
    return plan, facts


def rogue_dns(rng: np.random.Generator, host: str, server: str, t0: int, t1: int,
              queries: int = 150) -> tuple[PacketPlan, dict]:
    """`host` sends `queries` DNS queries (random labels under ROGUE_ZONE) to `server`, all answered."""
    k = np.full(queries, 2, np.int64)
    fs = FlowSet(v6=np.zeros(queries, bool), vlan=np.zeros(queries, np.uint16),
                 c_hi=np.zeros(queries, np.uint64), c_lo=np.full(queries, v4(host), np.uint64),
                 s_hi=np.zeros(queries, np.uint64), s_lo=np.full(queries, v4(server), np.uint64),
                 cport=rng.integers(49152, 65536, queries).astype(np.int32),
                 sport=np.full(queries, 53, np.int32), start=np.sort(rng.integers(t0, t1, queries)),
                 k=k, gap_us=np.full(queries, 40_000.0), tag=TAG_ROGUE_DNS)
    aux = (np.uint64(ROGUE_NAME) << np.uint64(48)) | rng.integers(0, 1 << 48, queries).astype(np.uint64)
    plan = udp_exchanges(rng, fs, APP_DNS_QUERY, APP_DNS_RESPONSE, aux=aux)
    facts = {"host": host, "server": server, "dst_port": 53, "queries": queries, "packets": int(len(plan)),
             "zone": ROGUE_ZONE, "first_ts_us": int(plan.ts_us.min()), "last_ts_us": int(plan.ts_us.max())}
    return plan, facts


def after_hours(rng: np.random.Generator, client: str, server: str, port: int, t0: int,
                packets: int = 400) -> tuple[PacketPlan, dict]:
    """One TCP session client -> server:port opened at t0 (outside business hours)."""
    fs = FlowSet(v6=np.zeros(1, bool), vlan=np.zeros(1, np.uint16), c_hi=np.zeros(1, np.uint64),
                 c_lo=np.full(1, v4(client), np.uint64), s_hi=np.zeros(1, np.uint64),
                 s_lo=np.full(1, v4(server), np.uint64), cport=rng.integers(49152, 65536, 1).astype(np.int32),
                 sport=np.full(1, port, np.int32), start=np.array([t0], np.int64),
                 k=np.array([packets], np.int64), gap_us=np.array([1_500_000.0]), tag=TAG_AFTER_HOURS)
    plan = tcp_sessions(rng, fs, down_share=0.5)
    facts = {"client": client, "server": server, "dst_port": port, "packets": int(len(plan)),
             "client_port": int(fs.cport[0]), "syn_ts_us": int(plan.ts_us[0]),
             "first_ts_us": int(plan.ts_us.min()), "last_ts_us": int(plan.ts_us.max())}
    return plan, facts
