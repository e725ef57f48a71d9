"""A compressed capture decompressed on a thread of its own, ahead of the decoder that reads it.

Decompressing is most of the CPU of a compressed capture's import (the 2M-packet bench capture gzipped: ~3.7 s of
zlib for ~2 s of decoding), and it ran on the decoder's thread, one step after the other, while the main thread
waited for batches. zlib, bz2, lzma, zstandard and lz4 let go of the GIL while they decompress, so the stream is
read here on a thread of its own, a few blocks ahead: decompression and decoding overlap.

The bytes are those of reading the stream directly, in the same steps (a damaged stream hands out what it
decompressed before the damage, then its error, as forensics.readers.sniff.BombGuard does): the thread reads the
inner stream STEP bytes at a time and queues them in blocks; an error is queued after the bytes before it and
raised when the reader gets there.
"""

from __future__ import annotations

import io
import queue
import threading
from typing import BinaryIO

STEP = 1 << 20
BLOCK = 1 << 20  # bytes queued at a time
DEPTH = 8  # blocks decompressed ahead (memory: about (DEPTH + 2) x BLOCK)

_END = object()


class InflateAhead(io.RawIOBase):
    """`inner` (a decompressing stream with readinto) read on a thread of its own, DEPTH blocks ahead."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner  # (a BombGuard: its count is what was inflated, read ahead included)
        self._ready: queue.Queue = queue.Queue(DEPTH)  # (buffer, length), an exception, or _END
        self._free: queue.Queue = queue.Queue()  # buffers the reader is done with, for the thread to fill again
        self._stop = threading.Event()
        self._block: memoryview | None = None  # the block being handed out, and how far
        self._buffer: bytearray | None = None
        self._at = 0
        self._end: object = None  # _END or the error, once the reader has got to it
        self._thread = threading.Thread(target=self._run, daemon=True, name="forensics-inflate")
        self._thread.start()

    def readable(self) -> bool:
        return True

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        buffer = None
        filled = 0
        try:
            while not self._stop.is_set():
                try:
                    buffer = self._free.get_nowait()
                except queue.Empty:
                    buffer = bytearray(BLOCK)
                filled = 0
                n = 1
                with memoryview(buffer) as view:
                    while filled < BLOCK:
                        n = self.inner.readinto(view[filled:filled + STEP])
                        if not n:
                            break
                        filled += n
                if filled and not self._put((buffer, filled)):
                    return
                buffer, filled = None, 0
                if not n:
                    self._put(_END)
                    return
        except BaseException as exc:  # handed to the reader after the bytes before it
            if buffer is not None and filled and not self._put((buffer, filled)):
                return
            self._put(exc)

    def readinto(self, b: bytearray | memoryview) -> int:  # noqa: ANN001 - buffer protocol
        while self._block is None or self._at >= len(self._block):
            if self._end is not None:
                if self._end is _END:
                    return 0
                raise self._end  # type: ignore[misc]
            if self._block is not None:
                self._block.release()
                self._free.put(self._buffer)
                self._block = self._buffer = None
            item = self._ready.get()
            if isinstance(item, tuple):
                self._buffer = item[0]
                self._block = memoryview(item[0])[:item[1]]
                self._at = 0
            else:
                self._end = item
        n = min(len(b), len(self._block) - self._at)
        b[:n] = self._block[self._at:self._at + n]
        self._at += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            while self._thread.is_alive():  # a thread waiting on a full queue sees the stop once there is room
                try:
                    self._ready.get(timeout=0.05)
                except queue.Empty:
                    pass
            if self._block is not None:
                self._block.release()
                self._block = None
            self.inner.close()
        super().close()
