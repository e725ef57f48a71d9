"""Format detection from content, never from the file name."""

from __future__ import annotations

import bz2
import functools
import io
import lzma
import os
import zlib
from dataclasses import dataclass
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
# Compressed files are read through their decompressor, whatever the name says: gzip (as tcpdump -r - and
# tshark read it), zstd and LZ4 frames (tshark reads them too), bzip2 and xz (the Python standard library).
# The captures.format value then ends in +NAME (pcap-le-usec+gzip, pcapng+zstd).
COMPRESSION_MAGICS = {
    "gzip": GZIP_MAGIC,
    "bzip2": b"BZh",
    "xz": b"\xfd7zXZ\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
    "lz4": b"\x04\x22\x4d\x18",
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("le", "usec"),
    b"\xa1\xb2\xc3\xd4": ("be", "usec"),
    b"\x4d\x3c\xb2\xa1": ("le", "nsec"),
    b"\xa1\xb2\x3c\x4d": ("be", "nsec"),
}
MODIFIED_PCAP_MAGICS = {b"\x34\xcd\xb2\xa1", b"\xa1\xb2\xcd\x34"}

# gzip input that has inflated past BOMB_MIN_BYTES to more than BOMB_RATIO times the compressed bytes
# read so far is refused. Captures deflate far less: at most 30:1 over the corpus (gzip -9; a DHCP
# flood), 28:1 for a SYN flood, 251:1 for identical 1,442-byte UDP packets of zeros a microsecond
# apart (gzip -9, the worst genuine case we could build; tests/readers/test_gzip_bomb.py imports it);
# deflate itself cannot pass about 1032:1, which is what a bomb of zeros reaches. Counting
# from the compressed bytes read so far (not the file size) stops a bomb after BOMB_MIN_BYTES of
# output, a fraction of a second, whatever its size (a 10 GiB bomb ran 243 s when the limit was
# 400 times the whole file); a bomb behind a genuine prefix is stopped once it has inflated about as
# much again as the prefix, since the ratio so far then passes 400.
BOMB_RATIO = 400
BOMB_MIN_BYTES = 16 * 1024 * 1024
# The other codecs compress genuine captures further (the same worst case: bzip2 -9 3,751:1, xz -9e 1,048:1,
# zstd -19 592:1, LZ4 141:1) and bombs of zeros much further (bzip2 849,479:1, xz 6,781:1, zstd 32,483:1;
# LZ4 cannot pass about 255:1): a limit of their own each, above the genuine case, below the bombs.
BOMB_RATIOS = {"gzip": BOMB_RATIO, "bzip2": 20000, "xz": 3000, "zstd": 3000, "lz4": BOMB_RATIO}


@dataclass
class Sniffed:
    """What the first bytes say: `kind` is pcap, pcapng, other or damaged-compressed; `compression` the
    codec the file is compressed with (COMPRESSION_MAGICS) or None; `head` the first (decompressed) bytes."""

    kind: str
    compression: str | None
    head: bytes
    byte_order: str | None = None
    resolution: str | None = None

    @property
    def compressed(self) -> bool:
        return self.compression is not None

    @property
    def format(self) -> str:
        """captures.format value, e.g. pcap-le-usec, pcapng, with +gzip (or +bzip2, +xz, +zstd, +lz4)."""
        if self.kind == "pcap":
            base = f"pcap-{self.byte_order}-{self.resolution}"
        else:
            base = self.kind
        return base + (f"+{self.compression}" if self.compression else "")


def compression_of(head: bytes) -> str | None:
    """The codec whose magic `head` (a file's first bytes) starts with, or None."""
    for name, magic in COMPRESSION_MAGICS.items():
        if head.startswith(magic):
            if name == "bzip2" and not (len(head) > 3 and head[3] in b"123456789"):  # BZh and the block size
                continue
            return name
    return None


def format_compression(fmt: str) -> str | None:
    """The codec a captures.format value names after its '+' (pcapng+zstd -> zstd), or None."""
    _, plus, codec = fmt.rpartition("+")
    return codec if plus and codec in COMPRESSION_MAGICS else None


class DamagedStreamError(OSError):
    """A compressed stream that cannot be decompressed further (each codec's own error, as one type)."""


@functools.cache
def _codec_errors() -> tuple[type[BaseException], ...]:
    """The codecs' own errors for damaged data; asked on the error path only, so that importing this module
    does not import zstandard (~9 ms at every command's start)."""
    import zstandard

    return (zlib.error, lzma.LZMAError, zstandard.ZstdError,
            RuntimeError)  # lz4.frame reports a damaged frame as RuntimeError


def decompressor(raw: BinaryIO, compression: str) -> BinaryIO:
    """A stream of the decompressed bytes of `raw` (an open compressed file), concatenated members or frames
    read as one stream, as gzip -dc, bzip2 -dc, xz -dc, zstd -dc and lz4 -dc write them."""
    if compression == "gzip":
        return _GzipStream(raw)  # type: ignore[return-value]
    if compression == "bzip2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.LZMAFile(raw, mode="rb")  # type: ignore[return-value]
    if compression == "zstd":
        return _ZstdStream(raw)  # type: ignore[return-value]
    if compression == "lz4":
        import lz4.frame

        return lz4.frame.LZ4FrameFile(raw, mode="rb")  # type: ignore[return-value]
    raise ValueError(f"unknown compression {compression!r}")


class _GzipStream(io.RawIOBase):
    """gzip members one after another, zero padding between or after them skipped, as `gzip -dc` and GzipFile
    read them, inflated by zlib with the gzip wrapper (which checks each member's CRC and length as it goes).
    On the 2M-packet bench capture gzipped: 3.7 s of CPU where gzip.GzipFile took 4.3 (it runs the CRC as a second
    pass over the output and hands it through two buffering layers), and it inflates as much as it is asked for in
    one call (a MB at a time for forensics.readers.inflate_ahead: fewer hand-overs of the GIL).

    Damage: a cut file hands out everything before the cut, then EOFError. Corrupt data (zlib.error) hands out
    what inflates before the damage, found again SALVAGE input bytes at a time from the state before the call
    that failed (a large call would otherwise lose its whole output), then the error."""

    # compressed bytes read at a time: BombGuard's ratio is of the compressed bytes read, so a bomb inflates at most
    # BOMB_RATIO x this (26 MB) before it is stopped
    INPUT = 64 * 1024
    SALVAGE = 1024

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self._inflate = zlib.decompressobj(31)
        self._in = b""  # compressed bytes read and not yet inflated
        self._member = False  # inside a member: its first byte taken, its end not reached
        self._ended = False
        self._salvaged = b""  # inflated before corrupt data, handed out (up to _handed) before its error
        self._handed = 0
        self._error: zlib.error | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # noqa: ANN001 - buffer protocol
        if self._error is not None:
            n = min(len(b), len(self._salvaged) - self._handed)
            if not n:
                raise self._error
            b[:n] = self._salvaged[self._handed:self._handed + n]
            self._handed += n
            return n
        want = len(b)
        while want:
            if not self._in:
                if self._ended:
                    return 0
                self._in = self.raw.read(self.INPUT)
                if not self._in:
                    self._ended = True
                    if self._member:
                        raise EOFError("Compressed file ended before the end-of-stream marker was reached")
                    return 0
            if not self._member:
                self._in = self._in.lstrip(b"\0")  # zero padding between or after members
                if not self._in:
                    continue
                self._member = True
            before = self._inflate.copy()
            try:
                out = self._inflate.decompress(self._in, want)
            except zlib.error as exc:
                self._error = exc
                self._salvaged = self._salvage(before, self._in)
                self._in = b""
                return self.readinto(b)
            if self._inflate.eof:  # the member ended (CRC and length checked): the next one starts after it
                self._in = self._inflate.unused_data
                self._inflate = zlib.decompressobj(31)
                self._member = False
            else:
                self._in = self._inflate.unconsumed_tail
            if out:
                n = len(out)
                b[:n] = out
                return n
        return 0

    def _salvage(self, inflate: zlib._Decompress, data: bytes) -> bytes:
        """What `inflate` (the state before the failed call) inflates of `data` before the corrupt byte: SALVAGE
        bytes at a time, then the piece that fails again a byte at a time."""
        parts = []
        step = self.SALVAGE
        i = 0
        while i < len(data) and not inflate.eof:
            before = inflate.copy() if step > 1 else inflate
            try:
                parts.append(inflate.decompress(data[i:i + step]))
            except zlib.error:
                if step == 1:
                    break
                inflate, step = before, 1
                continue
            i += step
        return b"".join(parts)


class _ZstdStream(io.RawIOBase):
    """zstd frames one after another (zstandard's stream reader), and EOFError when the data ends inside a
    frame: the reader itself then just stops, as if the file ended there (a cut .zst imported short, silently)."""

    def __init__(self, raw: BinaryIO) -> None:
        import zstandard

        self.raw = raw
        self.reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=False)
        self.checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # noqa: ANN001 - buffer protocol
        n = self.reader.readinto(b)
        if not n and not self.checked:
            self.checked = True
            if not zstd_frames_complete(self.raw):
                raise EOFError("zstd data ends inside a frame")
        return n

    def close(self) -> None:
        if not self.closed:
            self.reader.close()
        super().close()


def zstd_frames_complete(f: BinaryIO) -> bool:
    """Whether the zstd file `f` (an open binary file) is whole frames only (RFC 8878: frame header, blocks
    up to the one marked last, the optional checksum; skippable frames by their length). Reads headers only."""
    end = os.fstat(f.fileno()).st_size
    pos = 0
    while pos < end:
        f.seek(pos)
        head = f.read(14)  # magic, frame header descriptor and the longest rest of a frame header
        if len(head) < 5:
            return len(head) == 8 and 0x184D2A50 <= int.from_bytes(head[:4], "little") <= 0x184D2A5F
        magic = int.from_bytes(head[:4], "little")
        if 0x184D2A50 <= magic <= 0x184D2A5F:  # a skippable frame: its length follows
            if len(head) < 8:
                return False
            pos += 8 + int.from_bytes(head[4:8], "little")
            continue
        if magic != 0xFD2FB528:
            return False
        fhd = head[4]
        single = (fhd >> 5) & 1
        pos += 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + ((1 if single else 0), 2, 4, 8)[fhd >> 6]
        while True:  # blocks: a 3-byte header (last flag, type, size); an RLE block's content is one byte
            f.seek(pos)
            block = f.read(3)
            if len(block) < 3:
                return False
            word = int.from_bytes(block, "little")
            pos += 3 + (1 if (word >> 1) & 3 == 1 else word >> 3)
            if word & 1:
                break
        pos += 4 if (fhd >> 2) & 1 else 0  # content checksum
    return pos == end


def open_decompressed(path: str, compression: str | None) -> BinaryIO:
    """The file's bytes, through its decompressor when `compression` names one (no bomb guard: for reading
    records back at offsets the import has already read through the guard). Damaged data raises OSError."""
    raw = open(path, "rb")  # noqa: SIM115 - closed with the returned stream
    if compression is None:
        return raw
    return io.BufferedReader(BombGuard(decompressor(raw, compression), raw, path, None,  # type: ignore[arg-type]
                                       compression))


class BombGuard(io.RawIOBase):
    """Wraps a decompressing stream and stops it when it inflates implausibly (a gzip bomb)."""

    def __init__(self, inner: BinaryIO, raw: BinaryIO, path: str, ratio: int | None = BOMB_RATIO,
                 codec: str = "gzip") -> None:
        self.inner = inner
        self.codec = codec
        self._read = getattr(inner, "readinto1", None) or inner.readinto  # type: ignore[attr-defined]
        self.raw = raw  # the compressed file: its position is what has been read of it
        self.ratio = ratio  # None: no limit (the stream's own errors still come as DamagedStreamError)
        self.floor = BOMB_MIN_BYTES
        self.count = 0
        self.path = path

    def readable(self) -> bool:
        return True

    # Seeking (for reading records back at their offsets in the decompressed stream, as GzipFile allows):
    # forward by reading on, backward by starting the decompression over from the file's first byte.
    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.count

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            pos += self.count
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("seek from the end of a compressed stream")
        if pos < self.count:
            self.inner.close()
            self.raw.seek(0)
            self.inner = decompressor(self.raw, self.codec)
            self._read = getattr(self.inner, "readinto1", None) or self.inner.readinto  # type: ignore[attr-defined]
            self.count = 0
        scratch = memoryview(bytearray(1 << 16))
        while self.count < pos:
            if not self.readinto(scratch[:min(len(scratch), pos - self.count)]):
                break
        return self.count

    def close(self) -> None:
        if not self.closed:
            self.inner.close()
            self.raw.close()
        super().close()

    def readinto(self, b: bytearray | memoryview) -> int:  # noqa: ANN001 - buffer protocol
        try:
            # readinto1: one read of the compressed file at most, so that the bytes decompressed before damage
            # are handed out before the error (readinto fills `b` by several reads, and an error in the last
            # one lost the others: a cut gzip under 64 KiB decompressed kept nothing)
            n = self._read(b)
        except (OSError, EOFError, RecursionError):
            raise
        except Exception as exc:
            if isinstance(exc, _codec_errors()):
                raise DamagedStreamError(str(exc) or type(exc).__name__) from None
            raise
        self.count += n or 0
        if self.ratio is not None and self.count > self.floor:
            read = self.raw.tell()
            if self.count > self.ratio * max(read, 1):
                raise GzipBombError(self.count, read, self.codec, self.ratio)
        return n


class GzipBombError(Exception):
    """Raised by BombGuard; the reader turns it into an InputError with the offset."""

    def __init__(self, offset: int, compressed: int = 0, codec: str = "gzip", ratio: int = BOMB_RATIO) -> None:
        self.offset = offset
        self.compressed = compressed
        self.codec = codec
        self.ratio = ratio
        super().__init__(offset)

    def describe(self) -> str:
        """What happened, for the one-line error every reader of a compressed file gives."""
        return (f"{self.codec} data inflated to {self.offset:,} bytes from {self.compressed:,} compressed bytes, "
                f"more than {self.ratio} times (a {self.codec} bomb?)")


def open_stream(path: str, compression: str | None, size: int) -> BinaryIO:
    """The file's bytes, through its decompressor when compressed, guarded against bombs."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the returned stream
    if compression is None:
        return raw
    return BombGuard(decompressor(raw, compression), raw, path, BOMB_RATIOS[compression],  # type: ignore[return-value]
                     compression)


def sniff(path: str, size: int) -> Sniffed:
    """Read the first bytes (decompressed when the file is compressed) and say what the file is."""
    with open(path, "rb") as f:
        head = f.read(4096)
    compressed = compression_of(head)
    if compressed is not None:
        head = b""
        try:  # what decompresses before damage is enough to tell the format (the reader then stops there)
            with open_decompressed(path, compressed) as g:
                while len(head) < 4096 and (chunk := g.read1(4096 - len(head))):
                    head += chunk
        except (OSError, EOFError):
            pass
        if not head:
            return Sniffed("damaged-compressed", compressed, b"")
    magic = head[:4]
    if magic in PCAP_MAGICS:
        order, res = PCAP_MAGICS[magic]
        return Sniffed("pcap", compressed, head, order, res)
    if magic in MODIFIED_PCAP_MAGICS:
        return Sniffed("pcap-modified", compressed, head)
    if magic == PCAPNG_MAGIC:
        return Sniffed("pcapng", compressed, head)
    return Sniffed("other", compressed, head)

