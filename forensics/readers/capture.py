"""pcap and pcapng files -> packet batches, streamed through a fixed window (flat memory).

The record walk and header decode run compiled (forensics.readers.fastdecode), one record at a time
while its bytes are in cache, filling a batch of `batch_rows` packets across as many windows as it takes;
Python only handles the rare pcapng blocks that are not packets (section and interface headers) and the
bookkeeping.
A record that cannot be read stops the file there: everything before it is kept, and `rejected`
says what and at which byte offset.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from forensics.errors import InputError, MalformedError, TruncatedError
from forensics.readers import fastdecode as fd
from forensics.readers.inflate_ahead import InflateAhead
from forensics.readers.sniff import GzipBombError, Sniffed, open_stream
from forensics.records import PacketBatch

WINDOW = 2 * 1024 * 1024  # bytes of file held at once (small enough to stay in cache while decoded)
BATCH_ROWS = 4 * 122_880  # packets per batch by default (the store likes whole DuckDB row groups)
MAX_META_BLOCK = 16 * 1024 * 1024  # a non-packet pcapng block larger than this is refused
MAX_TSOFFSET = 253_402_300_799  # if_tsoffset beyond +-9999 years (seconds) is damage, not a clock setting
# A run of this many records in a row that capture no bytes stops the file: zeros (a gzip bomb, a
# disk image's empty tail) read as 16-byte pcap records of length 0, and a bomb must not pass for
# progress. A genuine capture has at most a few such records (kept, marked malformed); 100,000 in a
# row is 1.6 MB of nothing. The run's records still in the current batch are dropped.
EMPTY_RUN_LIMIT = 100_000

LINKTYPE_NAMES = {
    0: "null", 1: "ether", 9: "ppp", 12: "raw", 14: "raw", 101: "raw", 104: "c-hdlc", 108: "loop", 113: "linux-sll",
    117: "pflog", 50: "ppp-hdlc", 105: "802.11", 127: "radiotap", 192: "ppi", 197: "erf", 228: "ipv4",
    229: "ipv6", 239: "nflog", 276: "linux-sll2", 119: "prism", 163: "avs", 258: "pktap",
}
DECODED_LINKTYPES = {0, 1, 9, 12, 14, 50, 101, 104, 105, 108, 113, 117, 119, 127, 163, 192, 197, 228, 229, 239, 258,
                     276}

# UDP payloads whose first bytes look like NetFlow v5/v9, IPFIX or sFlow v5 are handed on.
ExportCandidate = tuple[int, int, int, int, int, int, bytes]


@dataclass
class Interface:
    """One capture interface (pcapng IDB, or the pcap file header)."""

    iface: int
    section: int
    linktype: int
    snaplen: int
    units_per_sec: int = 1_000_000
    offset_us: int = 0
    name: str | None = None
    fcs_len: int | None = None  # bytes of frame check sequence at the end of each frame, when the file says
    # Counters of the interface's last pcapng Interface Statistics Block (None when absent): packets received,
    # dropped by the interface, accepted by the filter, dropped by the OS, delivered to the user; and the
    # ISB's isb_starttime / isb_endtime in microseconds since the epoch.
    isb_ifrecv: int | None = None
    isb_ifdrop: int | None = None
    isb_filteraccept: int | None = None
    isb_osdrop: int | None = None
    isb_usrdeliv: int | None = None
    isb_start_us: int | None = None
    isb_end_us: int | None = None

    @property
    def tsresol_ns(self) -> int:
        return max(1, 1_000_000_000 // self.units_per_sec)


@dataclass
class Chunk:
    """Decoded packets of one window, plus the UDP datagrams that may be flow exports."""

    batch: PacketBatch
    exports: list[ExportCandidate] = field(default_factory=list)


class CaptureReader:
    """Streams one pcap/pcapng file (gzip or not) as Chunks.

    Attributes filled while reading: interfaces, packets, undecoded, rejected (an InputError or
    None), bytes_read (position in the uncompressed stream), read_all (the last chunk is being yielded).
    """

    def __init__(self, path: str, sniffed: Sniffed, size: int, batch_rows: int = BATCH_ROWS) -> None:
        self.path = path
        self.sniffed = sniffed
        self.size = size
        self.interfaces: list[Interface] = []
        self.packets = 0
        self.undecoded = 0
        self.rejected: InputError | None = None
        self.bytes_read = 0
        # True once the file is read to its end (or to what stopped it): set before the last chunk is yielded,
        # so that its consumer knows that chunk is the last (the import begins its read-back of the file then)
        self.read_all = False
        self._buf = bytearray(WINDOW)
        self._np = np.frombuffer(self._buf, dtype=np.uint8)
        self._filled = 0
        self._base = 0  # file offset of _buf[0]
        self._eof = False
        self._stream = None
        self._stream_error: InputError | None = None
        # The batch being filled: decoded fields (fd.C_* rows) and record fields (fd.R_* rows), _k columns
        # used. A record takes at least 16 bytes: a small file needs small matrices (fresh memory costs).
        if not sniffed.compressed:
            batch_rows = max(1, min(batch_rows, size // 16))
        # Rows are padded so that they do not start at the same offset modulo 4 KiB (cache set conflicts).
        self._rows = batch_rows
        self._O = np.empty((fd.NCOLS, batch_rows + 24), np.int64)
        self._R = np.empty((len(fd.RECORD_ROWS), batch_rows + 24), np.int64)
        self._k = 0
        # reuse_batches (the import sets it): the columns of a batch that its consumers copy anyway (all but
        # FRESH_COLUMNS) are written into buffers kept for the next batch: the same pages serve every batch
        # instead of fresh memory (page faults, zeroing) each time. A batch is then valid only until the next
        # chunk is asked for, but for its FRESH_COLUMNS (new arrays each batch: Arrow wraps them without a copy).
        self.reuse_batches = False
        self._typed: dict[str, np.ndarray] = {}
        # on_rows(decoded, records, k0, k, frame0, window): called with each run of rows decoded while their
        # bytes are still in the window (columns k0..k-1 of the decoding matrices, column c being frame frame0 + c;
        # a record's bytes at window[records[R_DATA, c]:][:records[R_CAP, c]]): what must copy bytes of chosen
        # packets does it there, instead of reading the file again (the import's application metadata pass)
        self.on_rows: Callable[[np.ndarray, np.ndarray, int, int, int, np.ndarray], None] | None = None
        self._exports: list[ExportCandidate] = []
        self._empty_run = 0  # records in a row, up to the last decoded, that captured no bytes
        self._empty_from: tuple[int, int | None] = (0, None)  # the run's first: file offset, column in this batch

    # -- window management ------------------------------------------------------------------
    def _refill(self, keep_from: int) -> None:
        """Drop bytes before keep_from, read more behind what is kept."""
        tail = self._filled - keep_from
        if keep_from:
            self._buf[:tail] = self._buf[keep_from:self._filled]
            self._base += keep_from
        self._filled = tail
        view = memoryview(self._buf)
        while self._filled < len(self._buf) and not self._eof:
            try:
                room = len(self._buf) - self._filled
                if self.sniffed.compressed:  # small steps: a damaged stream loses at most one step
                    room = min(room, 65536)
                n = self._stream.readinto(view[self._filled:self._filled + room])
            except GzipBombError as exc:
                self._stream_error = MalformedError(
                    self.path, exc.offset, exc.describe(),
                    "Reading stopped there, the packets before it were kept; decompress it yourself if it is genuine",
                )
                n = 0
            except (OSError, EOFError, zlib.error) as exc:
                self._stream_error = TruncatedError(
                    self.path, self._base + self._filled, f"compressed data ends or is damaged ({exc})",
                    "The packets before this point were kept",
                )
                n = 0
            if not n:
                self._eof = True
                break
            self._filled += n
        view.release()

    def _ensure_room(self, need: int) -> None:
        """Make the window hold at least `need` bytes (a non-packet pcapng block larger than the window)."""
        if need > len(self._buf):
            grown = bytearray(need)
            grown[:self._filled] = self._buf[:self._filled]
            self._buf = grown
            self._np = np.frombuffer(self._buf, dtype=np.uint8)

    # -- public ------------------------------------------------------------------------------
    def chunks(self, progress: Callable[[int], None] | None = None) -> Iterator[Chunk]:
        """Yield decoded chunks until the end of the file or the first unreadable record.

        Every chunk but the last holds batch_rows packets. Packets decoded before an unreadable record
        are yielded too; `rejected` then says what stopped the reading.
        """
        self._stream = open_stream(self.path, self.sniffed.compression, self.size)
        if self.sniffed.compressed:  # decompressed on a thread of its own, beside the decoding
            self._stream = InflateAhead(self._stream)
        try:
            if self.sniffed.kind == "pcap":
                yield from self._pcap_chunks(progress)
            else:
                yield from self._pcapng_chunks(progress)
        except InputError as exc:
            self.rejected = exc
        finally:
            self._stream.close()
        last = self._emit() if self._k else None
        # the file is read: the decoding matrices (~140 MB at the import's batch size) go before the steps after it
        # (before the last batch is handed on: _emit copied it out)
        self._O = np.empty((fd.NCOLS, 0), np.int64)
        self._R = np.empty((len(fd.RECORD_ROWS), 0), np.int64)
        self._typed = {}  # (the last batch holds its own references to them)
        self.read_all = True
        if last is not None:
            yield last

    @property
    def link_types(self) -> str:
        seen: list[int] = []
        for i in self.interfaces:
            if i.linktype not in seen:
                seen.append(i.linktype)
        return ",".join(f"{LINKTYPE_NAMES.get(lt, 'linktype')}({lt})" for lt in seen)

    # -- pcap ------------------------------------------------------------------------------------
    def _pcap_chunks(self, progress: Callable[[int], None] | None) -> Iterator[Chunk]:
        self._refill(0)
        if self._filled < 24:
            if self._stream_error is not None:
                raise self._stream_error
            raise TruncatedError(self.path, 0, f"pcap file header is {self._filled} bytes, needs 24")
        big = self.sniffed.byte_order == "be"
        fmt = ">HHiIII" if big else "<HHiIII"
        _vmaj, _vmin, _zone, _sig, snaplen, network = struct.unpack_from(fmt, self._buf, 4)
        linktype, fcs_len = split_link_field(network)
        ups = 1_000_000_000 if self.sniffed.resolution == "nsec" else 1_000_000
        self.interfaces.append(Interface(0, 0, linktype, snaplen, units_per_sec=ups, fcs_len=fcs_len))
        nano = self.sniffed.resolution == "nsec"
        pos = 24
        while True:
            k0 = self._k
            self._k, pos, status = fd.decode_pcap(self._np, pos, self._filled, self._base, big, nano, linktype,
                                                  self._O, self._R, k0, self._rows)
            self._take_exports(k0)
            self._hand_rows(k0)
            self._check_empty_run(k0)
            if progress:
                progress(self._base + pos)
            if status == fd.WALK_FULL:
                self.bytes_read = self._base + pos
                yield self._emit()
                continue
            if status == fd.WALK_BAD:
                incl = struct.unpack_from(">I" if big else "<I", self._buf, pos + 8)[0]
                raise MalformedError(
                    self.path, self._base + pos,
                    f"record length {incl} exceeds {fd.MAX_RECORD}; reading stopped at packet "
                    f"{self.packets + self._k + 1}",
                    "The packets before this point were kept; check the file is a capture",
                )
            if self._eof:
                if self._stream_error is not None:
                    raise self._stream_error
                if pos < self._filled:
                    raise TruncatedError(
                        self.path, self._base + pos,
                        f"last record cut short ({self._filled - pos} bytes of a record)",
                        "The packets before it were kept",
                    )
                self.bytes_read = self._base + pos
                return
            if pos == 0 and self._filled == len(self._buf):  # a record longer than the window
                self._ensure_room(2 * len(self._buf))
            self._refill(pos)
            pos = 0

    # -- pcapng ----------------------------------------------------------------------------------
    def _pcapng_chunks(self, progress: Callable[[int], None] | None) -> Iterator[Chunk]:
        self._refill(0)
        pos = 0
        big = False
        section = -1
        section_base = 0  # global interface number of this section's interface 0
        local: list[Interface] = []
        ups = np.zeros(0, np.int64)
        offs = np.zeros(0, np.int64)
        lts = np.zeros(0, np.int64)
        snaps = np.zeros(0, np.int64)
        last_ts = np.zeros(1, np.int64)  # time given to simple packet blocks: the previous packet's
        while True:
            if section >= 0:
                k0 = self._k
                self._k, pos, status = fd.decode_pcapng(self._np, pos, self._filled, self._base, big, ups, offs,
                                                        lts, snaps, section_base, last_ts, self._O, self._R, k0,
                                                        self._rows)
                self._take_exports(k0)
                self._hand_rows(k0)
                self._check_empty_run(k0)
                if progress and self._k > k0:
                    progress(self._base + pos)
            else:
                status = fd.WALK_BLOCK
            if status == fd.WALK_FULL:
                self.bytes_read = self._base + pos
                yield self._emit()
                continue
            if status == fd.WALK_BAD:
                self._bad_block(pos, big, local)
            # END or BLOCK: need a whole block header + body in the window
            if self._filled - pos < 12:
                if self._eof:
                    if self._stream_error is not None:
                        raise self._stream_error
                    if pos < self._filled:
                        raise TruncatedError(self.path, self._base + pos,
                                             f"last block cut short ({self._filled - pos} bytes)",
                                             "The packets before it were kept")
                    if section < 0:
                        raise TruncatedError(self.path, 0, "no section header block")
                    self.bytes_read = self._base + pos
                    return
                self._refill(pos)
                pos = 0
                continue
            btype = struct.unpack_from(">I" if big else "<I", self._buf, pos)[0]
            if btype == 0x0A0D0D0A:
                bom = bytes(self._buf[pos + 8:pos + 12])
                if bom == b"\x1a\x2b\x3c\x4d":
                    big = True
                elif bom == b"\x4d\x3c\x2b\x1a":
                    big = False
                else:
                    raise MalformedError(self.path, self._base + pos, "section header with an unknown byte-order magic")
            blen = struct.unpack_from(">I" if big else "<I", self._buf, pos + 4)[0]
            if blen < 12 or blen % 4 or (btype not in (2, 3, 6) and blen > MAX_META_BLOCK):
                raise MalformedError(self.path, self._base + pos,
                                     f"block type {btype:#x} has an impossible length {blen}",
                                     "The packets before it were kept")
            if self._filled - pos < blen:
                if self._eof:
                    if self._stream_error is not None:
                        raise self._stream_error
                    raise TruncatedError(self.path, self._base + pos,
                                         f"block type {btype:#x} of {blen} bytes cut short at end of file",
                                         "The packets before it were kept")
                self._ensure_room(blen)
                self._refill(pos)
                pos = 0
                continue
            if btype in (2, 3, 6):
                continue  # a packet block the walker will take (after a refill)
            body = bytes(self._buf[pos + 8:pos + blen - 4])
            if btype == 0x0A0D0D0A:
                section += 1
                section_base = len(self.interfaces)
                local = []
            elif btype == 1:
                if section < 0:
                    raise MalformedError(self.path, self._base + pos, "interface block before any section header")
                iface = self._parse_idb(body, big, len(self.interfaces), section, pos)
                self.interfaces.append(iface)
                local.append(iface)
            elif section < 0:
                raise MalformedError(self.path, self._base + pos, "pcapng file does not start with a section header")
            elif btype == 5:
                self._parse_isb(body, big, local, pos)
            if btype in (0x0A0D0D0A, 1):
                ups = np.array([i.units_per_sec for i in local], np.int64)
                offs = np.array([i.offset_us for i in local], np.int64)
                lts = np.array([i.linktype for i in local], np.int64)
                snaps = np.array([i.snaplen for i in local], np.int64)
            pos += blen

    def _bad_block(self, pos: int, big: bool, local: list[Interface]) -> None:
        e = ">" if big else "<"
        btype, blen = struct.unpack_from(e + "II", self._buf, pos)
        if btype == 3 and blen >= 16 and not local:
            raise MalformedError(self.path, self._base + pos, "simple packet block before any interface block",
                                 "The packets before it were kept")
        if btype in (2, 6) and 32 <= blen <= fd.MAX_RECORD + 64 and blen % 4 == 0:
            iface = struct.unpack_from(e + "I", self._buf, pos + 8)[0]
            if btype == 2:
                iface = (iface >> 16) if big else iface & 0xFFFF
            incl = struct.unpack_from(e + "I", self._buf, pos + 20)[0]
            if iface >= len(local):
                raise MalformedError(self.path, self._base + pos,
                                     f"packet block names interface {iface}, the section has {len(local)}",
                                     "The packets before it were kept")
            if incl > blen - 32:
                raise MalformedError(self.path, self._base + pos,
                                     f"packet block of {blen} bytes claims {incl} captured bytes",
                                     "The packets before it were kept")
            hi, lo = struct.unpack_from(e + "iI", self._buf, pos + 12)
            raise MalformedError(self.path, self._base + pos,
                                 f"packet block time {(hi << 32) | lo} (units of interface {iface}) is beyond "
                                 "the years 1-9999", "The packets before it were kept")
        raise MalformedError(self.path, self._base + pos, f"block type {btype:#x} has an impossible length {blen}",
                             "The packets before it were kept")

    def _parse_idb(self, body: bytes, big: bool, number: int, section: int, pos: int) -> Interface:
        e = ">" if big else "<"
        if len(body) < 8:
            raise MalformedError(self.path, self._base + pos, "interface description block too short")
        linktype, _res, snaplen = struct.unpack_from(e + "HHI", body, 0)
        iface = Interface(number, section, linktype, snaplen)
        i = 8
        while i + 4 <= len(body):
            code, length = struct.unpack_from(e + "HH", body, i)
            if code == 0:
                break
            if i + 4 + length > len(body):  # tshark calls the file corrupt; so do we
                raise MalformedError(
                    self.path, self._base + pos + 8 + i,
                    f"interface block option {code} claims {length} bytes, the block has {len(body) - i - 4} left",
                    "The packets before it were kept",
                )
            value = body[i + 4:i + 4 + length]
            if code == 2:
                iface.name = value.decode("utf-8", "replace").rstrip("\x00")
            elif code == 9 and length >= 1:
                r = value[0]
                iface.units_per_sec = 2 ** (r & 0x7F) if r & 0x80 else 10 ** r
                if iface.units_per_sec <= 0 or iface.units_per_sec > 10**18:
                    raise MalformedError(self.path, self._base + pos, f"if_tsresol {r} out of range")
            elif code == 13 and length >= 1:
                iface.fcs_len = value[0]
            elif code == 14 and length >= 8:
                seconds = struct.unpack_from(e + "q", value, 0)[0]
                if abs(seconds) > MAX_TSOFFSET:
                    raise MalformedError(self.path, self._base + pos + 8 + i,
                                         f"if_tsoffset {seconds} s is beyond any date",
                                         "The packets before it were kept")
                iface.offset_us = seconds * 1_000_000
            i += 4 + ((length + 3) & ~3)
        return iface

    _ISB_COUNTERS = {4: "isb_ifrecv", 5: "isb_ifdrop", 6: "isb_filteraccept", 7: "isb_osdrop", 8: "isb_usrdeliv"}

    def _parse_isb(self, body: bytes, big: bool, local: list[Interface], pos: int) -> None:
        """An Interface Statistics Block: interface id (4) | timestamp (8) | options. Its counters and
        isb_starttime/isb_endtime go on the interface (a later ISB of the same interface replaces them: the
        counters run from the start of the capture). A damaged or dangling ISB is skipped, as tshark does."""
        e = ">" if big else "<"
        if len(body) < 12:
            return
        number = struct.unpack_from(e + "I", body, 0)[0]
        if number >= len(local):
            return
        iface = local[number]
        i = 12
        while i + 4 <= len(body):
            code, length = struct.unpack_from(e + "HH", body, i)
            if code == 0 or i + 4 + length > len(body):
                break
            if length == 8 and code in self._ISB_COUNTERS:
                setattr(iface, self._ISB_COUNTERS[code], struct.unpack_from(e + "Q", body, i + 4)[0])
            elif length == 8 and code in (2, 3):
                hi, lo = struct.unpack_from(e + "II", body, i + 4)
                us = ((hi << 32) | lo) * 1_000_000 // iface.units_per_sec + iface.offset_us
                if abs(us) < MAX_TSOFFSET * 1_000_000:
                    setattr(iface, "isb_start_us" if code == 2 else "isb_end_us", us)
            i += 4 + ((length + 3) & ~3)

    def _check_empty_run(self, k0: int) -> None:
        """Count records in a row that captured no bytes (columns k0.._k just decoded); stop at EMPTY_RUN_LIMIT."""
        k = self._k
        if k == k0:
            return
        caps = self._R[fd.R_CAP, k0:k]
        full = np.flatnonzero(caps)
        if full.size:
            self._empty_run = k - k0 - 1 - int(full[-1])
            first = k0 + int(full[-1]) + 1
        else:
            first = k0 if self._empty_run == 0 else -1
            self._empty_run += k - k0
        if first >= 0 and self._empty_run:
            self._empty_from = (int(self._R[fd.R_OFF, first]), first)
        if self._empty_run < EMPTY_RUN_LIMIT:
            return
        offset, column = self._empty_from
        if column is not None:
            self._k = column  # drop the run's records not yet handed on
        raise MalformedError(
            self.path, offset,
            f"{EMPTY_RUN_LIMIT:,} or more records in a row capture no bytes (zeros, not packets"
            + (f": a {self.sniffed.compression} bomb?)" if self.sniffed.compressed else ")"),
            "The packets before them were kept",
        )

    # -- batches ---------------------------------------------------------------------------------
    def _emit(self) -> Chunk:
        """The packets decoded so far as one typed batch; the matrices are reused for the next."""
        n = self._k
        dec, rec = self._O, self._R
        batch: PacketBatch = {
            "frame": np.arange(self.packets + 1, self.packets + 1 + n, dtype=np.uint32),
            "ts_us": rec[fd.R_TS, :n].copy(),
            "iface": rec[fd.R_IF, :n].astype(np.uint16),
            "linktype": rec[fd.R_LT, :n].astype(np.uint16),
            "file_offset": rec[fd.R_OFF, :n].astype(np.uint64),
            "caplen": rec[fd.R_CAP, :n].astype(np.uint32),
            "wirelen": rec[fd.R_WIRE, :n].astype(np.uint32),
        }
        for j, name in enumerate(fd.COL_NAMES):
            if name in _FIELD_TYPES:
                if self.reuse_batches and name not in FRESH_COLUMNS:
                    batch[name] = self._typed_buffer(name, n)
                    np.copyto(batch[name], dec[j, :n], casting="unsafe")  # the values astype() gives
                else:
                    batch[name] = dec[j, :n].astype(_FIELD_TYPES[name])
        self.packets += n
        self.undecoded += int(np.count_nonzero((batch["ip_version"] < 0) & (batch["arp_op"] < 0)))
        chunk = Chunk(batch, self._exports)
        self._exports = []
        self._k = 0
        self._empty_from = (self._empty_from[0], None)  # a run that began in this batch was handed on with it
        return chunk

    def _typed_buffer(self, name: str, n: int) -> np.ndarray:
        """The first n items of the buffer kept for column `name` (reuse_batches)."""
        buf = self._typed.get(name)
        if buf is None or len(buf) < n:
            buf = self._typed[name] = np.empty(max(n, self._rows), _FIELD_TYPES[name])
        return buf[:n]

    def _hand_rows(self, k0: int) -> None:
        """The rows decoded since k0 to on_rows, their bytes still in the window."""
        if self.on_rows is not None and self._k > k0:
            self.on_rows(self._O, self._R, k0, self._k, self.packets + 1, self._np)

    def _take_exports(self, k0: int) -> None:
        """UDP payloads that may be NetFlow/IPFIX/sFlow among the rows decoded since k0 (bytes still in the window)."""
        k = self._k
        if k == k0:
            return
        dec, rec = self._O, self._R
        poff = dec[fd.C_POFF, k0:k]
        caplen = rec[fd.R_CAP, k0:k]
        sel = np.flatnonzero((dec[fd.C_PROTO, k0:k] == 17) & (poff >= 8) & (poff + 4 <= caplen)
                             & (dec[fd.C_FRAG, k0:k] <= 0))
        if sel.size == 0:
            return
        data_off = rec[fd.R_DATA, k0:k]
        start = data_off[sel] + poff[sel]
        b = self._np
        w16 = (b[start].astype(np.int64) << 8) | b[start + 1]
        w32 = (w16 << 16) | (b[start + 2].astype(np.int64) << 8) | b[start + 3]
        for i in sel[((w16 == 5) | (w16 == 9) | (w16 == 10)) | (w32 == 5)] + k0:
            s = int(rec[fd.R_DATA, i] + dec[fd.C_POFF, i])
            udp_len = (int(b[s - 4]) << 8) | int(b[s - 3])
            e = min(s + max(udp_len - 8, 0), int(rec[fd.R_DATA, i] + rec[fd.R_CAP, i]))
            src = ((int(dec[fd.C_SHI, i]) & _U64) << 64) | (int(dec[fd.C_SLO, i]) & _U64)
            dst = ((int(dec[fd.C_DHI, i]) & _U64) << 64) | (int(dec[fd.C_DLO, i]) & _U64)
            self._exports.append((self.packets + int(i) + 1, int(rec[fd.R_TS, i]), src, dst, int(dec[fd.C_SPORT, i]),
                                  int(dec[fd.C_DPORT, i]), bytes(self._buf[s:e])))


_U64 = (1 << 64) - 1
# Batch columns that are new arrays in every batch, also with reuse_batches: the store's Arrow tables wrap these
# without a copy (their types are already the stored ones) and hold them after the batch is gone.
FRESH_COLUMNS = frozenset(("frame", "ts_us", "iface", "linktype", "file_offset", "caplen", "wirelen",
                           "src_hi", "src_lo", "dst_hi", "dst_lo"))


def split_link_field(network: int) -> tuple[int, int | None]:
    """The pcap file header's link-type field -> (LINKTYPE, FCS length in bytes or None).

    Only the low 16 bits are the link type (libpcap's LT_LINKTYPE; tshark and tcpdump read it so).
    Bit 26 says that bits 28-31 give the frame check sequence length in 16-bit words (LT_FCS_LENGTH);
    bits 16-25 are reserved and ignored, as libpcap does. The FCS is left in the stored lengths:
    caplen/wirelen are the record's, as tshark's frame.cap_len/frame.len (the IP and transport
    fields come from IP's own lengths, so trailing FCS bytes decode as nothing).
    """
    linktype = network & 0xFFFF
    fcs_len = ((network >> 28) & 0xF) * 2 if network & 0x04000000 else None
    return linktype, fcs_len
_FIELD_TYPES = {
    "vlan": np.int32, "vlan_inner": np.int32, "mpls_label": np.int64, "eth_type": np.int32, "ip_version": np.int8,
    "src_hi": np.uint64, "src_lo": np.uint64, "dst_hi": np.uint64, "dst_lo": np.uint64,
    "ip_proto": np.int16, "ip_len": np.int32, "ttl": np.int16, "ip_id": np.int64, "frag_offset": np.int32,
    "frag_flags": np.int16, "src_port": np.int32, "dst_port": np.int32, "tcp_flags": np.int32,
    "icmp_type": np.int16, "icmp_code": np.int16, "malformed": np.bool_,
    "src_mac": np.int64, "dst_mac": np.int64, "arp_op": np.int32, "arp_sha": np.int64, "arp_spa": np.int64,
    "arp_tha": np.int64, "arp_tpa": np.int64,
}
