"""Which packets the import reads for application metadata, chosen batch by batch as the capture is decoded.

The choice is the one queries/derive/appdata_candidates.sql makes over a capture's stored packet rows (that
file says it in SQL; tests/appdata/test_select.py checks both choose the same frames on corpus captures):

- UDP with port 53, 5353, 5355, 67, 68, 546, 547 or 123 on either side: every packet.
- TCP with port 53 (DNS), 25, 587 or 2525 (SMTP) on either side: every segment that may carry payload (no SYN;
  PSH, or an IP length past the largest headers).
- UDP 443 (QUIC): the first FIRST_SEGMENTS packets of each 5-tuple (direction), for the client's Initials.
- Any other UDP port: the first packet of each 5-tuple (direction).
- Any other TCP port: the first FIRST_SEGMENTS such segments of each 5-tuple (direction).
- Not the first fragment of a fragmented datagram.

Made here, on the decoded batches (on the decoder's thread, before the packets are stored), in one compiled
loop, it costs no scan of the stored packets afterwards: on the 2M-packet bench capture the SQL took 0.3 s on
a quiet machine, 2 s under load, after the import; numpy over the batches 1.3 s (load 17); this loop ~0.1 s.

"First of each 5-tuple" across batches is kept as counts per 64-bit hash of (protocol, addresses, ports, IP
version) in an open-addressing table (18-30 bytes per 5-tuple): two different 5-tuples with the same hash
(odds ~n^2/2^65: 3e-8 for a million of them) would share their first segments' quota, so one of them could
lose a candidate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from forensics.appdata.kept_frames import KeptFrames
from forensics.jit import njit
from forensics.readers import fastdecode as fd
from forensics.records import PacketBatch

FIRST_SEGMENTS = 3  # a ClientHello split in two, or a request after a proxy preamble, still lands
COLUMNS = ("frame", "ts_us", "linktype", "file_offset", "caplen", "wirelen", "ip_proto", "src_port", "dst_port",
           "src_hi", "src_lo", "dst_hi", "dst_lo", "ip_len")
_LOAD = 0.6  # the open-addressing table of 5-tuples is grown past this fill (linear probing stays short)


@njit(cache=True, nogil=True, inline="always")
def _mix(h: np.uint64, v: np.uint64) -> np.uint64:
    h = (h ^ v) * np.uint64(0x9E3779B97F4A7C15)
    return h ^ (h >> np.uint64(29))


@njit(cache=True, nogil=True, inline="always")
def _whole_udp(port: int) -> bool:
    return port == 53 or port == 67 or port == 68 or port == 123 or port == 546 or port == 547 or port == 5353 \
        or port == 5355


@njit(cache=True, nogil=True, inline="always")
def _whole_tcp(port: int) -> bool:
    return port == 25 or port == 53 or port == 587 or port == 2525


@njit(cache=True, nogil=True, inline="always")
def _labelled_udp(port: int) -> bool:
    """UDP ports whose flows the appdata tables label (app_first_payload.sql leaves them out)."""
    return port == 53 or port == 67 or port == 68 or port == 123 or port == 5353 or port == 5355


@njit(cache=True, nogil=True)
def _choose(proto, sp, dp, frag, flags, ip_len, ver, shi, slo, dhi, dlo, first, keys, counts, out, opens):  # noqa: ANN001, ANN202
    """Mark in `out` the packets chosen, in `opens` those that are the first of their 5-tuple direction that may
    carry payload (app_first_payload.sql's rows: always chosen too); `keys`/`counts`: the 5-tuples seen so far
    (open addressing, 0 = free). Returns how many keys were added."""
    added = 0
    mask = np.uint64(len(keys) - 1)
    for r in range(len(proto)):
        out[r] = False
        opens[r] = False
        s, d, f = sp[r], dp[r], frag[r]
        if s < 0 or d < 0 or (f >= 0 and f & 1):
            continue
        whole = False
        if proto[r] == 17:
            if _labelled_udp(s) or _labelled_udp(d):
                out[r] = True
                continue
            whole = _whole_udp(s) or _whole_udp(d)
            limit = first if s == 443 or d == 443 else 1  # QUIC: a ClientHello may span the first Initials
        elif proto[r] == 6:
            fl = flags[r]
            if fl < 0 or fl & 2 or not (fl & 8 or ip_len[r] > (80 if ver[r] == 4 else 100)):
                continue
            whole = _whole_tcp(s) or _whole_tcp(d)
            limit = first
        else:
            continue
        if whole:  # every packet chosen; its 5-tuple still counted, for `opens` (a key is whole or not for good)
            out[r] = True
        h = _mix(np.uint64(proto[r]), shi[r])
        h = _mix(h, slo[r])
        h = _mix(h, dhi[r])
        h = _mix(h, dlo[r])
        h = _mix(h, np.uint64(s) << np.uint64(32) | np.uint64(d))
        h = _mix(h, np.uint64(ver[r]))
        if h == 0:
            h = np.uint64(1)
        i = h & mask
        while True:
            k = keys[i]
            if k == h:
                if counts[i] < limit:
                    counts[i] += 1
                    out[r] = True
                break
            if k == 0:
                keys[i] = h
                counts[i] = 1
                out[r] = True
                opens[r] = True
                added += 1
                break
            i = (i + np.uint64(1)) & mask
    return added


@njit(cache=True, nogil=True)
def _rehash(keys, counts, new_keys, new_counts):  # noqa: ANN001, ANN202
    mask = np.uint64(len(new_keys) - 1)
    for j in range(len(keys)):
        h = keys[j]
        if h == 0:
            continue
        i = h & mask
        while new_keys[i] != 0:
            i = (i + np.uint64(1)) & mask
        new_keys[i] = h
        new_counts[i] = counts[j]


# The batch types of COLUMNS (forensics.readers.capture's), which feed_rows gives the rows it takes from the
# decoder's matrices: its candidates' columns are then those feed() gives
_TYPES = {"frame": np.uint32, "ts_us": np.int64, "linktype": np.uint16, "file_offset": np.uint64,
          "caplen": np.uint32, "wirelen": np.uint32, "ip_proto": np.int16, "src_port": np.int32,
          "dst_port": np.int32, "src_hi": np.uint64, "src_lo": np.uint64, "dst_hi": np.uint64, "dst_lo": np.uint64,
          "ip_len": np.int32}
_RECORD_ROWS = {"ts_us": fd.R_TS, "linktype": fd.R_LT, "file_offset": fd.R_OFF, "caplen": fd.R_CAP,
                "wirelen": fd.R_WIRE}
_DECODED_ROWS = {"ip_proto": fd.C_PROTO, "src_port": fd.C_SPORT, "dst_port": fd.C_DPORT, "src_hi": fd.C_SHI,
                 "src_lo": fd.C_SLO, "dst_hi": fd.C_DHI, "dst_lo": fd.C_DLO, "ip_len": fd.C_IPLEN}
KEPT_AT = "kept_at"  # a candidate's frame in the KeptFrames (feed_rows): a column beside COLUMNS


class CandidateSelector:
    """Fed every decoded batch of one capture, in order (feed), or every run of rows as the decoder makes them
    (feed_rows, which also keeps the chosen packets' frames: `frames`); `columns()` then gives the chosen
    packets' columns (COLUMNS, as the SQL query returns them: ip_len masked where NULL; with feed_rows also
    KEPT_AT), in frame order."""

    def __init__(self, first_segments: int = FIRST_SEGMENTS, frames_folder: str | Path | None = None) -> None:
        self._first = first_segments
        self._keys = np.zeros(1 << 12, np.uint64)  # 64-bit hashes of the 5-tuples seen (0: a free slot)
        self._counts = np.zeros(1 << 12, np.uint8)  # packets chosen of each
        self._used = 0
        self._parts: list[dict[str, np.ndarray]] = []
        self._opens: list[np.ndarray] = []  # per part: which of its rows open their 5-tuple direction
        self._frames_folder = frames_folder
        self.frames: KeptFrames | None = None  # the chosen packets' frames (feed_rows), at their KEPT_AT

    def _room(self, n: int) -> None:
        """Grow the table of 5-tuples for n more."""
        size = len(self._keys)
        while self._used + n > _LOAD * size:
            size *= 2
        if size != len(self._keys):
            keys, counts = np.zeros(size, np.uint64), np.zeros(size, np.uint8)
            _rehash(self._keys, self._counts, keys, counts)
            self._keys, self._counts = keys, counts

    def feed(self, batch: PacketBatch) -> None:
        """Choose among one batch's packets (columns as forensics.records: -1 for NULL)."""
        n = len(batch["frame"])
        self._room(n)
        chosen, opens = np.empty(n, np.bool_), np.empty(n, np.bool_)
        self._used += _choose(batch["ip_proto"], batch["src_port"], batch["dst_port"], batch["frag_flags"],
                              batch["tcp_flags"], batch["ip_len"], batch["ip_version"], batch["src_hi"],
                              batch["src_lo"], batch["dst_hi"], batch["dst_lo"], self._first, self._keys,
                              self._counts, chosen, opens)
        at = np.flatnonzero(chosen)
        if len(at):
            self._parts.append({name: batch[name][at] for name in COLUMNS})
            self._opens.append(opens[at])

    def feed_rows(self, dec: np.ndarray, rec: np.ndarray, k0: int, k: int, frame0: int, window: np.ndarray) -> None:
        """Choose among the rows k0..k-1 of the decoder's matrices (forensics.readers.fastdecode's decoded and
        record rows; column c is frame frame0 + c) and keep the chosen ones' frames from `window`, the decoder's
        bytes they are in (CaptureReader.on_rows): the same choice as feed() over the batch they end up in."""
        n = k - k0
        self._room(n)
        chosen, opens = np.empty(n, np.bool_), np.empty(n, np.bool_)

        def row(c: int, unsigned: bool = False) -> np.ndarray:
            values = dec[c, k0:k]
            return values.view(np.uint64) if unsigned else values

        self._used += _choose(row(fd.C_PROTO), row(fd.C_SPORT), row(fd.C_DPORT), row(fd.C_FFLAGS), row(fd.C_TFLAGS),
                              row(fd.C_IPLEN), row(fd.C_IPV), row(fd.C_SHI, True), row(fd.C_SLO, True),
                              row(fd.C_DHI, True), row(fd.C_DLO, True), self._first, self._keys, self._counts,
                              chosen, opens)
        at = np.flatnonzero(chosen)
        if not len(at):
            return
        cols = {"frame": (at + (frame0 + k0)).astype(_TYPES["frame"])}
        for name, r in _RECORD_ROWS.items():
            cols[name] = rec[r, k0:k][at].astype(_TYPES[name])
        for name, c in _DECODED_ROWS.items():
            cols[name] = dec[c, k0:k][at].astype(_TYPES[name])
        if self.frames is None:
            self.frames = KeptFrames(self._frames_folder)
        cols[KEPT_AT] = self.frames.add(window, rec[fd.R_DATA, k0:k][at], cols["caplen"])
        self._parts.append(cols)
        self._opens.append(opens[at])

    def kept(self) -> KeptFrames | None:
        """The frames feed_rows kept (after columns()), or None: none kept, or they could not be (the file is
        then read again)."""
        frames = self.frames
        return frames if frames is not None and frames.failed is None and not frames.closed else None

    def columns(self) -> dict[str, np.ndarray]:
        """The chosen packets' columns, in frame order. The batches' parts are joined once and let go (the
        parts and a joined copy side by side would hold the candidates twice at the import's memory peak)."""
        if self.frames is not None:
            self.frames.finish()
        names = (*COLUMNS, KEPT_AT) if self._parts and KEPT_AT in self._parts[0] else COLUMNS
        if len(self._parts) > 1 or (self._parts and self._parts[0]["ip_len"].dtype != np.int64):
            whole = {}
            for name in names:
                whole[name] = np.concatenate([p.pop(name) for p in self._parts])
            for name in ("src_hi", "src_lo", "dst_hi", "dst_lo", "file_offset"):
                whole[name] = whole[name].astype(np.uint64, copy=False)
            whole["ip_len"] = whole["ip_len"].astype(np.int64, copy=False)
            self._parts = [whole]
            self._opens = [np.concatenate(self._opens)]
        if not self._parts:
            cols = {name: np.zeros(0, np.int64) for name in COLUMNS}
            for name in ("src_hi", "src_lo", "dst_hi", "dst_lo", "file_offset"):
                cols[name] = cols[name].astype(np.uint64)
        else:
            cols = dict(self._parts[0])
        cols["ip_len"] = np.ma.masked_less(cols["ip_len"], 0)
        return cols

    def first_payload(self) -> dict[str, np.ndarray]:
        """The packets queries/derive/app_first_payload.sql chooses (the first that may carry payload of each TCP
        and UDP 5-tuple direction, UDP on the DNS/DHCP/NTP ports left out), as `columns()` gives them: what
        forensics.ingest.app_labels reads the first payload bytes of, without a scan of the stored packets.
        The last call: the selector then lets go of its candidates (columns() comes first; the candidates of a
        13.44 M-packet capture are ~100 MB that the label join would otherwise hold beside it)."""
        cols = self.columns()
        opens = self._opens[0] if self._opens else np.zeros(0, np.bool_)
        chosen = {name: v[opens] for name, v in cols.items()}
        self._parts, self._opens = [], []
        return chosen
