"""Streaming flow meter: pcap-derived flows built in one compiled pass over the packet batches.

The flows are those of queries/derive/flows_from_packets.sql (the reference definition, and the fallback):

- Only IP packets count (`ip_version` >= 0). Key: iface, vlan (absent taken as 0), ip_version, src, dst,
  ip_proto (absent is a value of its own), src_port and dst_port (absent taken as 0), icmp_type,
  icmp_code (absent is a value of its own).
- In packet order a packet starts a new segment of its key when it is the key's first packet, when its gap
  to the key's previous packet is more than `idle_us`, or when that previous packet was TCP with FIN or
  RST. A segment is cut into active windows: (t - segment start) // `active_us`. One flow per (segment,
  window).
- flow_id = (capture_id << 32) + 2**31 + n, n = 1, 2, ... in order of (first ts, first frame).

Streaming in file order gives that numbering directly when timestamps never go backwards: a flow takes
its n when its first packet arrives. When a timestamp does go backwards the meter sets `out_of_order`
and keeps going; its flows are then not the reference ones (the caller runs the SQL instead).

Memory is flat: only open flows are held, in an open-addressing table (linear probing on a compact
array of 64-bit hashes, full key compared, backward-shift deletion). A flow leaves the table when it
ends: at its FIN/RST packet, when its key's next packet opens a new segment or window, when it has been
idle longer than `idle_us` behind the newest packet (swept at the end of each feed and whenever the
table needs room) and at `finish()`. The table grows only when a sweep cannot make room, and shrinks
when it gets sparse, so its size follows the flows open within the idle timeout, not the total.

    meter = FlowMeter(capture_id, idle_us=15_000_000, active_us=1_800_000_000)
    for chunk in reader.chunks():
        flows = meter.feed(chunk.batch)      # flows completed so far, or None
        ...
    flows = meter.finish()                   # every flow still open
    if meter.out_of_order: ...               # throw the meter's flows away, run the SQL
"""

from __future__ import annotations

import numpy as np

from forensics.jit import njit
from forensics.records import PacketBatch

FlowColumns = dict[str, np.ndarray]

# Output columns, in this order; all int64 except the address halves (uint64, as in PacketBatch). -1 is
# NULL in vlan (no packet of the flow tagged), ip_proto, icmp_type, icmp_code and tcp_flags (no packet had
# flags; else the OR of them); ports absent are 0. record_pos is the frame of the flow's first packet,
# bytes the sum of ip_len (absent as 0), frame_bytes the sum of wirelen.
FLOW_COLUMNS = [
    "flow_id", "record_pos", "first_ts_us", "last_ts_us", "iface", "vlan", "ip_version",
    "src_hi", "src_lo", "dst_hi", "dst_lo", "ip_proto", "src_port", "dst_port", "icmp_type", "icmp_code",
    "tcp_flags", "packets", "bytes", "frame_bytes",
]
_UNSIGNED_COLUMNS = ("src_hi", "src_lo", "dst_hi", "dst_lo")
_NCOL = len(FLOW_COLUMNS)

# Batch fields the meter reads, with the dtype it compiles for (PacketBatch's own dtypes).
_INPUT = [
    ("frame", np.uint32), ("ts_us", np.int64), ("iface", np.uint16), ("vlan", np.int32),
    ("ip_version", np.int8), ("src_hi", np.uint64), ("src_lo", np.uint64), ("dst_hi", np.uint64),
    ("dst_lo", np.uint64), ("ip_proto", np.int16), ("ip_len", np.int32), ("src_port", np.int32),
    ("dst_port", np.int32), ("tcp_flags", np.int32), ("icmp_type", np.int16), ("icmp_code", np.int16),
    ("wirelen", np.uint32),
]

# One table row per open flow. The key is packed: K0 = iface | vlan << 16 | ip_version << 32 |
# (ip_proto + 1) << 40; K1 = src_port | dst_port << 16 | (icmp_type + 1) << 32 | (icmp_code + 1) << 41
# (absent vlan/ports as 0, absent proto/ICMP fields as -1 + 1 = 0). The slot's hash lives apart, in
# `hashes` (0 = empty slot; a stored hash is odd, so never 0).
T_K0, T_K1, T_SHI, T_SLO, T_DHI, T_DLO = 0, 1, 2, 3, 4, 5
T_N, T_FIRST, T_LAST, T_SEG, T_WIN, T_POS, T_VLAN, T_FLAGS, T_PKTS, T_BYTES, T_FBYTES = range(6, 17)
_TW = 17

# Meter state shared with the compiled code (one int64 array).
S_COUNT, S_NEXT_N, S_MAX_TS, S_PREV_TS, S_OOO, S_MIN_LAST, S_FILL, S_BASE = range(8)
_NST = 8

# Why _run stopped.
_DONE, _OUT_FULL, _ROOM = 0, 1, 2

_OUT_KEEP = 1 << 15  # output buffer columns kept between feeds (5 MB); a larger one is let go after a take
_I64_MIN = np.iinfo(np.int64).min
_I64_MAX = np.iinfo(np.int64).max
_SHIFT = 8  # home slot = (hash >> _SHIFT) & mask (bit 0 of a stored hash is always 1)


@njit(cache=True, nogil=True)
def _hash(k0: int, k1: int, a: int, b: int, c: int, d: int) -> int:
    """64-bit hash of a packed key (odd multipliers, then murmur3's finaliser), as a nonzero int64."""
    h = np.uint64(k0) * np.uint64(0x9E3779B97F4A7C15)
    h += np.uint64(k1) * np.uint64(0xC2B2AE3D27D4EB4F)
    h += np.uint64(a) * np.uint64(0x165667B19E3779F9)
    h += np.uint64(b) * np.uint64(0xD6E8FEB86659FD93)
    h += np.uint64(c) * np.uint64(0xFF51AFD7ED558CCD)
    h += np.uint64(d) * np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return np.int64(h | np.uint64(1))


@njit(cache=True, nogil=True)
def _emit(tab: np.ndarray, j: int, out: np.ndarray, fill: int, base: int) -> None:
    """Write the flow in slot j as column `fill` of out (rows in FLOW_COLUMNS order)."""
    k0 = tab[j, T_K0]
    k1 = tab[j, T_K1]
    out[0, fill] = base + tab[j, T_N]
    out[1, fill] = tab[j, T_POS]
    out[2, fill] = tab[j, T_FIRST]
    out[3, fill] = tab[j, T_LAST]
    out[4, fill] = k0 & 0xFFFF
    out[5, fill] = tab[j, T_VLAN]
    out[6, fill] = (k0 >> 32) & 0xFF
    out[7, fill] = tab[j, T_SHI]
    out[8, fill] = tab[j, T_SLO]
    out[9, fill] = tab[j, T_DHI]
    out[10, fill] = tab[j, T_DLO]
    out[11, fill] = ((k0 >> 40) & 0x1FF) - 1
    out[12, fill] = k1 & 0xFFFF
    out[13, fill] = (k1 >> 16) & 0xFFFF
    out[14, fill] = ((k1 >> 32) & 0x1FF) - 1
    out[15, fill] = ((k1 >> 41) & 0x1FF) - 1
    out[16, fill] = tab[j, T_FLAGS]
    out[17, fill] = tab[j, T_PKTS]
    out[18, fill] = tab[j, T_BYTES]
    out[19, fill] = tab[j, T_FBYTES]


@njit(cache=True, nogil=True)
def _open(tab: np.ndarray, j: int, n: int, t: int, seg_t: int, win: int, frame: int) -> None:
    """Start flow n in slot j (its key already there): no packets yet."""
    tab[j, T_N] = n
    tab[j, T_FIRST] = t
    tab[j, T_LAST] = t
    tab[j, T_SEG] = seg_t
    tab[j, T_WIN] = win
    tab[j, T_POS] = frame
    tab[j, T_VLAN] = -1
    tab[j, T_FLAGS] = -1
    tab[j, T_PKTS] = 0
    tab[j, T_BYTES] = 0
    tab[j, T_FBYTES] = 0


@njit(cache=True, nogil=True)
def _delete(hashes: np.ndarray, tab: np.ndarray, i: int, mask: int) -> None:
    """Empty slot i, shifting later entries of its probe run back (no tombstones)."""
    j = i
    while True:
        j = (j + 1) & mask
        hj = hashes[j]
        if hj == 0:
            break
        k = (hj >> _SHIFT) & mask
        # the entry at j stays when its home slot k lies cyclically in (i, j]
        if i <= j:
            if i < k <= j:
                continue
        elif k > i or k <= j:
            continue
        hashes[i] = hj
        for c in range(_TW):
            tab[i, c] = tab[j, c]
        i = j
    hashes[i] = 0


@njit(cache=True, nogil=True)
def _run(st: np.ndarray, hashes: np.ndarray, tab: np.ndarray, out: np.ndarray, limit: int, start: int,
         idle_us: int, active_us: int, frame: np.ndarray, ts: np.ndarray, iface: np.ndarray, vlan: np.ndarray,
         ipver: np.ndarray, shi: np.ndarray, slo: np.ndarray, dhi: np.ndarray, dlo: np.ndarray, proto: np.ndarray,
         ip_len: np.ndarray, sport: np.ndarray, dport: np.ndarray, tflags: np.ndarray, itype: np.ndarray,
         icode: np.ndarray, wirelen: np.ndarray) -> tuple[int, int]:
    """Meter packets start.. of the batch. Stops early (returns the packet to resume at and why) when
    the output needs room or a new flow would push the table past `limit` entries."""
    mask = hashes.shape[0] - 1
    out_cap = out.shape[1]
    n = ts.shape[0]
    count = st[S_COUNT]
    next_n = st[S_NEXT_N]
    max_ts = st[S_MAX_TS]
    prev_ts = st[S_PREV_TS]
    ooo = st[S_OOO]
    min_last = st[S_MIN_LAST]
    fill = st[S_FILL]
    base = st[S_BASE]
    status = _DONE
    i = start
    while i < n:
        if fill + 2 > out_cap:  # a packet emits at most two flows (the previous one, its own)
            status = _OUT_FULL
            break
        t = ts[i]
        if t < prev_ts:
            ooo = 1
        prev_ts = t
        if t > max_ts:
            max_ts = t
        v = np.int64(ipver[i])
        if v < 0:
            i += 1
            continue
        vl = np.int64(vlan[i])
        p = np.int64(proto[i])
        sp = np.int64(sport[i])
        dp = np.int64(dport[i])
        k0 = np.int64(iface[i]) | (max(vl, 0) << 16) | (v << 32) | ((p + 1) << 40)
        k1 = max(sp, 0) | (max(dp, 0) << 16) | ((np.int64(itype[i]) + 1) << 32) | ((np.int64(icode[i]) + 1) << 41)
        a = np.int64(shi[i])
        b = np.int64(slo[i])
        c = np.int64(dhi[i])
        d = np.int64(dlo[i])
        h = _hash(k0, k1, a, b, c, d)
        j = (h >> _SHIFT) & mask
        found = False
        while True:
            hj = hashes[j]
            if hj == 0:
                break
            if (hj == h and tab[j, T_K0] == k0 and tab[j, T_K1] == k1 and tab[j, T_SLO] == b
                    and tab[j, T_DLO] == d and tab[j, T_SHI] == a and tab[j, T_DHI] == c):
                found = True
                break
            j = (j + 1) & mask
        fr = np.int64(frame[i])
        if not found:
            if count >= limit:
                status = _ROOM
                break
            hashes[j] = h
            tab[j, T_K0] = k0
            tab[j, T_K1] = k1
            tab[j, T_SHI] = a
            tab[j, T_SLO] = b
            tab[j, T_DHI] = c
            tab[j, T_DLO] = d
            count += 1
            _open(tab, j, next_n, t, t, 0, fr)
            next_n += 1
        elif t - tab[j, T_LAST] > idle_us:  # idle gap: a new segment
            _emit(tab, j, out, fill, base)
            fill += 1
            _open(tab, j, next_n, t, t, 0, fr)
            next_n += 1
        else:
            seg_t = tab[j, T_SEG]
            w = (t - seg_t) // active_us
            if w != tab[j, T_WIN]:  # active timeout: the next window of the segment
                _emit(tab, j, out, fill, base)
                fill += 1
                _open(tab, j, next_n, t, seg_t, w, fr)
                next_n += 1
        if t > tab[j, T_LAST]:
            tab[j, T_LAST] = t
        if t < min_last:  # a lower bound of every open flow's last packet (sweeps skip when none is idle)
            min_last = t
        if vl >= 0 and tab[j, T_VLAN] < 0:
            tab[j, T_VLAN] = vl
        f = np.int64(tflags[i])
        if f >= 0:
            cur = tab[j, T_FLAGS]
            tab[j, T_FLAGS] = f if cur < 0 else cur | f
        tab[j, T_PKTS] += 1
        ln = np.int64(ip_len[i])
        if ln > 0:
            tab[j, T_BYTES] += ln
        tab[j, T_FBYTES] += np.int64(wirelen[i])
        if p == 6 and f >= 0 and (f & 5) != 0:  # FIN or RST: the segment ends with this packet
            _emit(tab, j, out, fill, base)
            fill += 1
            _delete(hashes, tab, j, mask)
            count -= 1
        i += 1
    st[S_COUNT] = count
    st[S_NEXT_N] = next_n
    st[S_MAX_TS] = max_ts
    st[S_PREV_TS] = prev_ts
    st[S_OOO] = ooo
    st[S_MIN_LAST] = min_last
    st[S_FILL] = fill
    return i, status


@njit(cache=True, nogil=True)
def _sweep(st: np.ndarray, hashes: np.ndarray, tab: np.ndarray, out: np.ndarray, cutoff: int) -> None:
    """Emit and remove every open flow whose last packet is before `cutoff` (out has room for all)."""
    cap = hashes.shape[0]
    mask = cap - 1
    fill = st[S_FILL]
    count = st[S_COUNT]
    base = st[S_BASE]
    min_last = np.int64(0x7FFFFFFFFFFFFFFF)
    i = 0
    while i < cap:
        if hashes[i] != 0:
            last = tab[i, T_LAST]
            if last < cutoff:
                _emit(tab, i, out, fill, base)
                fill += 1
                _delete(hashes, tab, i, mask)
                count -= 1
                continue  # slot i may now hold a later entry of the run: look again
            if last < min_last:
                min_last = last
        i += 1
    st[S_FILL] = fill
    st[S_COUNT] = count
    st[S_MIN_LAST] = min_last


@njit(cache=True, nogil=True)
def _rehash(hashes: np.ndarray, tab: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """The open flows in a new table of `cap` slots (a power of two larger than their number)."""
    mask = cap - 1
    new_hashes = np.zeros(cap, np.int64)
    new_tab = np.zeros((cap, _TW), np.int64)
    for i in range(hashes.shape[0]):
        h = hashes[i]
        if h == 0:
            continue
        j = (h >> _SHIFT) & mask
        while new_hashes[j] != 0:
            j = (j + 1) & mask
        new_hashes[j] = h
        for c in range(_TW):
            new_tab[j, c] = tab[i, c]
    return new_hashes, new_tab


class FlowMeter:
    """Builds a capture's pcap-derived flows from its packet batches in file order (see the module doc).

    `feed(batch)` returns the flows completed so far (or None), `finish()` the flows still open.
    `out_of_order` turns True once a packet's ts_us is smaller than the previous packet's (file order):
    the flows are then not the reference ones. `flows` counts the flows returned so far.
    """

    MIN_CAPACITY = 1024
    MAX_LOAD = 0.7  # a new flow past this load first sweeps idle flows out, then grows the table
    GROW_LOAD = 0.5  # ... grows it when the sweep left more than this
    SHRINK_LOAD = 0.125  # after a sweep, a table this sparse is halved (or more)

    def __init__(self, capture_id: int, idle_us: int, active_us: int) -> None:
        self.capture_id = int(capture_id)
        self.idle_us = int(idle_us)
        self.active_us = max(1, int(active_us))
        self.flows = 0
        self.peak_capacity = self.MIN_CAPACITY
        self._st = np.zeros(_NST, np.int64)
        self._st[S_NEXT_N] = 1
        self._st[S_MAX_TS] = _I64_MIN
        self._st[S_PREV_TS] = _I64_MIN
        self._st[S_MIN_LAST] = _I64_MAX
        self._st[S_BASE] = (self.capture_id << 32) + 2**31
        self._hashes = np.zeros(self.MIN_CAPACITY, np.int64)
        self._tab = np.zeros((self.MIN_CAPACITY, _TW), np.int64)
        self._out = np.empty((_NCOL, 4096), np.int64)

    @property
    def out_of_order(self) -> bool:
        """True once any packet's ts_us was smaller than the previous packet's."""
        return bool(self._st[S_OOO])

    @property
    def capacity(self) -> int:
        """Slots of the open-flow table now."""
        return len(self._hashes)

    @property
    def open_flows(self) -> int:
        """Flows open now."""
        return int(self._st[S_COUNT])

    def feed(self, batch: PacketBatch) -> FlowColumns | None:
        """Meter one batch (the next packets of the file); the flows that ended, or None."""
        cols = [np.ascontiguousarray(batch[name], dtype) for name, dtype in _INPUT]
        for k in (5, 6, 7, 8):  # addresses: the same bits as int64
            cols[k] = cols[k].view(np.int64)
        n = len(cols[1])
        st = self._st
        st[S_FILL] = 0
        i = 0
        while i < n:
            limit = int(len(self._hashes) * self.MAX_LOAD)
            i, status = _run(st, self._hashes, self._tab, self._out, limit, i, self.idle_us, self.active_us, *cols)
            if status == _OUT_FULL:
                self._out_room(self._out.shape[1])
            elif status == _ROOM:
                self._expire(grow=True)
        if int(st[S_MAX_TS]) - self.idle_us > int(st[S_MIN_LAST]):
            self._expire(grow=False)
        return self._take()

    def finish(self) -> FlowColumns | None:
        """Every flow still open (the end of the file); the table is emptied."""
        self._st[S_FILL] = 0
        self._out_room(int(self._st[S_COUNT]))
        _sweep(self._st, self._hashes, self._tab, self._out, _I64_MAX)
        self._hashes = np.zeros(self.MIN_CAPACITY, np.int64)
        self._tab = np.zeros((self.MIN_CAPACITY, _TW), np.int64)
        return self._take()

    # -- internals -------------------------------------------------------------------------------
    def _out_room(self, rows: int) -> None:
        """Make the output buffer hold at least `rows` more flows than it holds now."""
        fill = int(self._st[S_FILL])
        if fill + rows <= self._out.shape[1]:
            return
        bigger = np.empty((_NCOL, max(2 * self._out.shape[1], fill + rows)), np.int64)
        bigger[:, :fill] = self._out[:, :fill]
        self._out = bigger

    def _expire(self, grow: bool) -> None:
        """Sweep out the flows idle past the newest packet; then grow (when asked) or shrink the table."""
        st = self._st
        cutoff = max(int(st[S_MAX_TS]) - self.idle_us, _I64_MIN)
        # room for the flows this sweep takes out, not for every open flow (the buffer grew to hold them all)
        self._out_room(int(np.count_nonzero((self._hashes != 0) & (self._tab[:, T_LAST] < cutoff))))
        _sweep(st, self._hashes, self._tab, self._out, cutoff)
        count, cap = int(st[S_COUNT]), len(self._hashes)
        if grow and count > cap * self.GROW_LOAD:
            self._resize(2 * cap)
        elif cap > self.MIN_CAPACITY and count < cap * self.SHRINK_LOAD:
            new = self.MIN_CAPACITY
            while new < 4 * count:
                new *= 2
            self._resize(min(new, cap // 2))

    def _resize(self, cap: int) -> None:
        self._hashes, self._tab = _rehash(self._hashes, self._tab, cap)
        self.peak_capacity = max(self.peak_capacity, cap)

    def _take(self) -> FlowColumns | None:
        fill = int(self._st[S_FILL])
        self._st[S_FILL] = 0
        if fill == 0:
            return None
        self.flows += fill
        cols: FlowColumns = {}
        for r, name in enumerate(FLOW_COLUMNS):
            col = self._out[r, :fill].copy()
            cols[name] = col.view(np.uint64) if name in _UNSIGNED_COLUMNS else col
        if self._out.shape[1] > max(4 * fill, _OUT_KEEP):  # a sweep's burst: let the buffer go
            self._out = np.empty((_NCOL, _OUT_KEEP), np.int64)
        return cols
