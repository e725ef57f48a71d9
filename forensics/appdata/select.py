"""Which packets the import reads for application metadata, chosen batch by batch as the capture is decoded.

The choice is the one queries/derive/appdata_candidates.sql makes over a capture's stored packet rows (that
file says it in SQL; tests/appdata/test_select.py checks both choose the same frames on corpus captures):

- UDP with port 53, 5353, 5355, 67, 68 or 123 on either side: every packet.
- TCP with port 53 (DNS), 25, 587 or 2525 (SMTP) on either side: every segment that may carry payload (no SYN;
  PSH, or an IP length past the largest headers).
- Any other UDP port but 443: the first packet of each 5-tuple (direction).
- Any other TCP port: the first FIRST_SEGMENTS such segments of each 5-tuple (direction).
- Not the first fragment of a fragmented datagram.

Made here, on the decoded batches (on the decoder's thread, before the packets are stored), it costs no
scan of the stored packets afterwards: on the 2M-packet bench capture the SQL took 0.3 s on a quiet machine,
2 s under load, after the import; this takes ~50 ms, overlapped with the store's appends.

"First of each 5-tuple" across batches is kept as counts per 64-bit hash of (addresses, ports, IP version):
two different 5-tuples with the same hash (odds ~n^2/2^65: 3e-8 for a million of them) would share their
first segments' quota, so one of them could lose a candidate.
"""

from __future__ import annotations

import numpy as np

from forensics.records import PacketBatch

FIRST_SEGMENTS = 3  # a ClientHello split in two, or a request after a proxy preamble, still lands
WELL_KNOWN_UDP = np.array([53, 67, 68, 123, 5353, 5355], np.int64)
NOT_OTHER_UDP = np.append(WELL_KNOWN_UDP, 443)  # 443: QUIC, not DNS
WHOLE_TCP = np.array([25, 53, 587, 2525], np.int64)  # DNS over TCP, SMTP: every segment, not the first few
COLUMNS = ("frame", "ts_us", "linktype", "file_offset", "caplen", "wirelen", "ip_proto", "src_port", "dst_port",
           "src_hi", "src_lo", "dst_hi", "dst_lo", "ip_len")
_KEY = ("src_hi", "src_lo", "dst_hi", "dst_lo", "src_port", "dst_port", "ip_version")
_MULTS = tuple(np.uint64(m) for m in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB,
                                      0xD6E8FEB86659FD93, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB,
                                      0xFF51AFD7ED558CCD))


class _FirstPerKey:
    """How many packets of each key (a 64-bit hash) were taken so far; takes the first `limit` of each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.keys = np.zeros(0, np.uint64)  # sorted, unique
        self.counts = np.zeros(0, np.int64)

    def take(self, keys: np.ndarray) -> np.ndarray:
        """Positions (ascending) of the packets among `keys` (in frame order) that are within their key's first."""
        if len(keys) == 0:
            return np.zeros(0, np.int64)
        order = np.argsort(keys, kind="stable")
        k = keys[order]
        starts = np.empty(len(k), bool)
        starts[0] = True
        np.not_equal(k[1:], k[:-1], out=starts[1:])
        idx = np.arange(len(k))
        rank = idx - np.maximum.accumulate(np.where(starts, idx, 0))
        prior = np.zeros(len(k), np.int64)
        if len(self.keys):
            pos = np.minimum(np.searchsorted(self.keys, k), len(self.keys) - 1)
            seen = self.keys[pos] == k
            prior[seen] = self.counts[pos[seen]]
        taken = np.sort(order[prior + rank < self.limit])
        uniq = k[starts]
        counts = np.diff(np.append(np.flatnonzero(starts), len(k)))
        merged, inverse = np.unique(np.concatenate([self.keys, uniq]), return_inverse=True)
        self.counts = np.bincount(inverse, np.concatenate([self.counts, counts]), len(merged)).astype(np.int64)
        self.counts = np.minimum(self.counts, self.limit)
        self.keys = merged
        return taken


class CandidateSelector:
    """Fed every decoded batch of one capture, in order; `columns()` then gives the chosen packets' columns
    (COLUMNS, as the SQL query returns them: ip_len masked where NULL), in frame order."""

    def __init__(self, first_segments: int = FIRST_SEGMENTS) -> None:
        self._udp = _FirstPerKey(1)
        self._tcp = _FirstPerKey(first_segments)
        self._parts: list[dict[str, np.ndarray]] = []

    def feed(self, batch: PacketBatch) -> None:
        """Choose among one batch's packets (columns as forensics.records: -1 for NULL)."""
        proto, sp, dp = batch["ip_proto"], batch["src_port"], batch["dst_port"]
        frag = batch["frag_flags"]
        base = (sp >= 0) & (dp >= 0) & ((frag < 0) | (frag & 1 == 0))
        udp = base & (proto == 17)
        flags, ip_len = batch["tcp_flags"], batch["ip_len"]
        big = np.where(batch["ip_version"] == 4, 80, 100)
        tcp = base & (proto == 6) & (flags >= 0) & (flags & 2 == 0) & ((flags & 8 != 0) | (ip_len > big))
        whole = np.isin(sp, WHOLE_TCP) | np.isin(dp, WHOLE_TCP)
        chosen = (udp & (np.isin(sp, WELL_KNOWN_UDP) | np.isin(dp, WELL_KNOWN_UDP))) | (tcp & whole)
        other_udp = np.flatnonzero(udp & ~np.isin(sp, NOT_OTHER_UDP) & ~np.isin(dp, NOT_OTHER_UDP))
        chosen[other_udp[self._udp.take(_hash(batch, other_udp))]] = True
        other_tcp = np.flatnonzero(tcp & ~whole)
        chosen[other_tcp[self._tcp.take(_hash(batch, other_tcp))]] = True
        at = np.flatnonzero(chosen)
        if len(at):
            self._parts.append({name: batch[name][at] for name in COLUMNS})

    def columns(self) -> dict[str, np.ndarray]:
        """The chosen packets' columns, in frame order."""
        cols = {name: np.concatenate([p[name] for p in self._parts]) if self._parts else np.zeros(0, np.int64)
                for name in COLUMNS}
        for name in ("src_hi", "src_lo", "dst_hi", "dst_lo", "file_offset"):
            cols[name] = cols[name].astype(np.uint64)
        cols["ip_len"] = np.ma.masked_less(cols["ip_len"].astype(np.int64), 0)
        return cols


def _hash(batch: PacketBatch, at: np.ndarray) -> np.ndarray:
    mixed = np.zeros(len(at), np.uint64)
    with np.errstate(over="ignore"):
        for name, mult in zip(_KEY, _MULTS, strict=True):
            mixed = (mixed ^ batch[name][at].astype(np.uint64)) * mult
            mixed ^= mixed >> np.uint64(29)
    return mixed
