"""Format detection from content, never from the file name."""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"
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


@dataclass
class Sniffed:
    """What the first bytes say: `kind` is pcap, pcapng or other; `head` the first (decompressed) bytes."""

    kind: str
    compressed: bool
    head: bytes
    byte_order: str | None = None
    resolution: str | None = None

    @property
    def format(self) -> str:
        """captures.format value, e.g. pcap-le-usec, pcapng, with +gzip."""
        if self.kind == "pcap":
            base = f"pcap-{self.byte_order}-{self.resolution}"
        else:
            base = self.kind
        return base + ("+gzip" if self.compressed else "")


class BombGuard(io.RawIOBase):
    """Wraps a decompressing stream and stops it when it inflates implausibly (a gzip bomb)."""

    def __init__(self, inner: BinaryIO, raw: BinaryIO, path: str) -> None:
        self.inner = inner
        self.raw = raw  # the compressed file: its position is what has been read of it
        self.ratio = BOMB_RATIO
        self.floor = BOMB_MIN_BYTES
        self.count = 0
        self.path = path

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self.inner.close()
            self.raw.close()
        super().close()

    def readinto(self, b: bytearray | memoryview) -> int:  # noqa: ANN001 - buffer protocol
        n = self.inner.readinto(b)  # type: ignore[attr-defined]
        self.count += n or 0
        if self.count > self.floor:
            read = self.raw.tell()
            if self.count > self.ratio * max(read, 1):
                raise GzipBombError(self.count, read)
        return n


class GzipBombError(Exception):
    """Raised by BombGuard; the reader turns it into an InputError with the offset."""

    def __init__(self, offset: int, compressed: int = 0) -> None:
        self.offset = offset
        self.compressed = compressed
        super().__init__(offset)


def open_stream(path: str, compressed: bool, size: int) -> BinaryIO:
    """The file's bytes, decompressed when gzip, guarded against bombs."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through the returned stream
    if not compressed:
        return raw
    return BombGuard(gzip.GzipFile(fileobj=raw, mode="rb"), raw, path)  # type: ignore[return-value]


def sniff(path: str, size: int) -> Sniffed:
    """Read the first bytes (through gzip if needed) and say what the file is."""
    with open(path, "rb") as f:
        head = f.read(4096)
    compressed = head[:2] == GZIP_MAGIC
    if compressed:
        try:
            with gzip.open(path, "rb") as g:
                head = g.read(4096)
        except (OSError, EOFError, zlib.error):
            return Sniffed("gzip-damaged", True, b"")
    magic = head[:4]
    if magic in PCAP_MAGICS:
        order, res = PCAP_MAGICS[magic]
        return Sniffed("pcap", compressed, head, order, res)
    if magic in MODIFIED_PCAP_MAGICS:
        return Sniffed("pcap-modified", compressed, head)
    if magic == PCAPNG_MAGIC:
        return Sniffed("pcapng", compressed, head)
    return Sniffed("other", compressed, head)
