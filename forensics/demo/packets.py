"""The generator's packet plan: one numpy array per header field, one row per packet.

A plan says what each packet is (addresses, ports, flags, sizes, times); `frames.py` turns it into
bytes. Addresses are (hi, lo) uint64 halves with IPv4 mapped to ::ffff:a.b.c.d, as in the case
database, so the generator's ground truth and the database speak the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# Application payload kinds (what frames.py writes after the transport header).
APP_RAW, APP_DNS_QUERY, APP_DNS_RESPONSE, APP_ECHO_REQUEST, APP_ECHO_REPLY, APP_NTP, APP_NTP_REPLY = range(7)

# Scenario tags (ground truth only; never written into the frames).
TAG_BACKGROUND, TAG_SWEEP, TAG_SYNFLOOD, TAG_ROGUE_DNS, TAG_AFTER_HOURS = range(5)

V4_MAPPED = 0xFFFF << 32


def v4(text: str) -> int:
    """'10.10.0.53' -> the low half of its mapped address (the high half is 0)."""
    a, b, c, d = (int(x) for x in text.split("."))
    return V4_MAPPED | (a << 24) | (b << 16) | (c << 8) | d


@dataclass
class PacketPlan:
    """Per-packet arrays, all the same length."""

    ts_us: np.ndarray      # int64, microseconds since the epoch (UTC)
    v6: np.ndarray         # bool
    vlan: np.ndarray       # uint16, 0 = untagged
    src_hi: np.ndarray     # uint64
    src_lo: np.ndarray     # uint64
    dst_hi: np.ndarray     # uint64
    dst_lo: np.ndarray     # uint64
    proto: np.ndarray      # uint8: TCP, UDP, ICMP, ICMP6
    sport: np.ndarray      # int32 (ICMP: echo identifier)
    dport: np.ndarray      # int32 (ICMP: echo sequence number)
    flags: np.ndarray      # uint8 TCP flags
    seq: np.ndarray        # int64 TCP sequence number
    ack: np.ndarray        # int64 TCP acknowledgement number
    paylen: np.ndarray     # int32 zero-filled payload bytes after the fixed application bytes
    app: np.ndarray        # uint8 APP_* kind
    aux: np.ndarray        # uint64: DNS name index << 48 | query key (DNS); unused otherwise
    tag: np.ndarray        # uint8 TAG_* scenario

    def __len__(self) -> int:
        return len(self.ts_us)

    def take(self, index: np.ndarray) -> PacketPlan:
        """The rows at `index` (an index array or boolean mask), in that order."""
        return PacketPlan(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, plans: list[PacketPlan]) -> PacketPlan:
        """Rows of all plans, one after the other."""
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in plans]) for f in fields(cls)})

    def sorted_by_time(self) -> PacketPlan:
        """Rows in capture order (stable: packets of one flow keep their order on equal times)."""
        return self.take(np.argsort(self.ts_us, kind="stable"))
