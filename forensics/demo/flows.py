"""Flows to packets, vectorised: one call expands thousands of conversations into a PacketPlan.

A FlowSet holds one row per bidirectional conversation (client, server, ports, start, packet
count, mean gap). The expanders turn it into packets with direction, flags, sizes and times, with
consistent TCP sequence and acknowledgement numbers, without a Python loop per flow or packet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forensics.demo.packets import (
    ACK,
    APP_ECHO_REPLY,
    APP_ECHO_REQUEST,
    FIN,
    ICMP,
    ICMP6,
    PSH,
    SYN,
    TCP,
    UDP,
    PacketPlan,
)


@dataclass
class FlowSet:
    """One row per conversation; the client sends the first packet."""

    v6: np.ndarray        # bool
    vlan: np.ndarray      # uint16
    c_hi: np.ndarray      # client address halves (uint64)
    c_lo: np.ndarray
    s_hi: np.ndarray      # server address halves
    s_lo: np.ndarray
    cport: np.ndarray     # int32
    sport: np.ndarray     # int32
    start: np.ndarray     # int64 us
    k: np.ndarray         # int64 packets in the conversation (>= 1)
    gap_us: np.ndarray    # float64 mean gap between packets
    tag: int = 0

    def __len__(self) -> int:
        return len(self.start)


def positions(k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flow index, position in flow, index of each flow's first packet) for packet counts k."""
    fid = np.repeat(np.arange(len(k)), k)
    first = np.cumsum(k) - k
    return fid, np.arange(int(k.sum())) - first[fid], first


def _group_exclusive_cumsum(x: np.ndarray, fid: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Per flow, the sum of x over the packets before each packet."""
    total = np.cumsum(x)
    excl = total - x
    return excl - excl[first][fid]


def _times(rng: np.random.Generator, fs: FlowSet, fid: np.ndarray, first: np.ndarray) -> np.ndarray:
    gaps = rng.exponential(1.0, len(fid)) * fs.gap_us[fid]
    gaps[first] = 0.0
    return fs.start[fid] + (_group_exclusive_cumsum(gaps, fid, first) + gaps).astype(np.int64)


def _plan(fs: FlowSet, fid: np.ndarray, d: np.ndarray, ts: np.ndarray, proto: int, n: int) -> dict:
    fwd = d == 0
    return dict(
        ts_us=ts, v6=fs.v6[fid], vlan=fs.vlan[fid].astype(np.uint16),
        src_hi=np.where(fwd, fs.c_hi[fid], fs.s_hi[fid]), src_lo=np.where(fwd, fs.c_lo[fid], fs.s_lo[fid]),
        dst_hi=np.where(fwd, fs.s_hi[fid], fs.c_hi[fid]), dst_lo=np.where(fwd, fs.s_lo[fid], fs.c_lo[fid]),
        proto=np.full(n, proto, np.uint8),
        sport=np.where(fwd, fs.cport[fid], fs.sport[fid]).astype(np.int32),
        dport=np.where(fwd, fs.sport[fid], fs.cport[fid]).astype(np.int32),
        tag=np.full(n, fs.tag, np.uint8),
    )


def tcp_sessions(rng: np.random.Generator, fs: FlowSet, down_share: float = 0.7,
                 down_bytes: int = 1448, up_bytes: int = 400) -> PacketPlan:
    """Full TCP conversations: handshake, data both ways, FIN teardown when k >= 7.

    `down_share` of the data packets go server -> client carrying up to `down_bytes`; client data
    carries up to `up_bytes` (a third of client packets are pure ACKs).
    """
    k = fs.k
    fid, i, first = positions(k)
    n = len(fid)
    kk = k[fid]
    teardown = (kk >= 7) & (i >= kk - 3)
    d = np.where(rng.random(n) < down_share, 1, 0).astype(np.int8)
    d[i == 0] = 0
    d[i == 1] = 1
    d[i == 2] = 0
    d[teardown] = ((i - (kk - 3)) % 2)[teardown].astype(np.int8)
    flags = np.full(n, ACK, np.uint8)
    flags[i == 0] = SYN
    flags[i == 1] = SYN | ACK
    flags[teardown & (i < kk - 1)] = FIN | ACK
    data = (i >= 3) & ~teardown
    full = rng.random(n) < 0.8
    down = np.where(full, down_bytes, rng.integers(64, down_bytes + 1, n))
    up = np.where(rng.random(n) < 0.33, 0, rng.integers(40, up_bytes + 1, n))
    paylen = np.where(data, np.where(d == 1, down, up), 0)
    paylen = np.where(fs.v6[fid], np.minimum(paylen, down_bytes - 20), paylen).astype(np.int32)  # same MTU
    flags[data & (paylen > 0)] |= PSH
    ts = _times(rng, fs, fid, first)
    seq, ack = tcp_numbers(rng, fid, first, d, flags, paylen, len(k))
    return PacketPlan(**_plan(fs, fid, d, ts, TCP, n), flags=flags, seq=seq, ack=ack, paylen=paylen,
                      app=np.zeros(n, np.uint8), aux=np.zeros(n, np.uint64))


def tcp_numbers(rng: np.random.Generator, fid: np.ndarray, first: np.ndarray, d: np.ndarray,
                flags: np.ndarray, paylen: np.ndarray, nflows: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequence and acknowledgement numbers that follow the bytes each side has sent."""
    isn = rng.integers(0, 1 << 32, (nflows, 2), dtype=np.int64)
    used = paylen.astype(np.int64) + (flags & SYN > 0) + (flags & FIN > 0)
    sent0 = _group_exclusive_cumsum(np.where(d == 0, used, 0), fid, first)
    sent1 = _group_exclusive_cumsum(np.where(d == 1, used, 0), fid, first)
    mask = (1 << 32) - 1
    seq = np.where(d == 0, isn[fid, 0] + sent0, isn[fid, 1] + sent1) & mask
    ack = np.where(d == 0, isn[fid, 1] + sent1, isn[fid, 0] + sent0) & mask
    ack = np.where(flags & ACK > 0, ack, 0)
    syn = flags & SYN > 0  # a SYN (or its retransmission) carries the initial sequence number
    seq = np.where(syn, isn[fid, d.astype(np.int64)], seq)
    return seq, ack


def udp_exchanges(rng: np.random.Generator, fs: FlowSet, app: int, reply_app: int,
                  paylen: int | np.ndarray = 0, reply_share: float = 0.5,
                  aux: np.ndarray | None = None) -> PacketPlan:
    """UDP request/response conversations: even positions client -> server, odd the reply.

    With reply_share != 0.5 the direction is drawn per packet instead (streams, QUIC).
    """
    fid, i, first = positions(fs.k)
    n = len(fid)
    if reply_share == 0.5:
        d = (i % 2).astype(np.int8)
    else:
        d = np.where((i > 0) & (rng.random(n) < reply_share), 1, 0).astype(np.int8)
    ts = _times(rng, fs, fid, first)
    pl = np.broadcast_to(np.asarray(paylen, np.int32), (n,)) if np.ndim(paylen) == 0 else paylen[fid]
    return PacketPlan(**_plan(fs, fid, d, ts, UDP, n), flags=np.zeros(n, np.uint8),
                      seq=np.zeros(n, np.int64), ack=np.zeros(n, np.int64), paylen=pl.astype(np.int32),
                      app=np.where(d == 0, app, reply_app).astype(np.uint8),
                      aux=(np.zeros(n, np.uint64) if aux is None else aux[fid]))


def icmp_echoes(rng: np.random.Generator, fs: FlowSet) -> PacketPlan:
    """Ping conversations: request/reply pairs; cport is the identifier, sequence numbers count up."""
    fid, i, first = positions(fs.k)
    n = len(fid)
    d = (i % 2).astype(np.int8)
    ts = _times(rng, fs, fid, first)
    base = _plan(fs, fid, d, ts, ICMP, n)
    base["proto"] = np.where(fs.v6[fid], ICMP6, ICMP).astype(np.uint8)
    base["sport"] = fs.cport[fid].astype(np.int32)
    base["dport"] = (i // 2 + 1).astype(np.int32)
    return PacketPlan(**base, flags=np.zeros(n, np.uint8), seq=np.zeros(n, np.int64),
                      ack=np.zeros(n, np.int64), paylen=np.zeros(n, np.int32),
                      app=np.where(d == 0, APP_ECHO_REQUEST, APP_ECHO_REPLY).astype(np.uint8),
                      aux=np.zeros(n, np.uint64))
