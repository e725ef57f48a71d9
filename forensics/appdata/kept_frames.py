"""The captured bytes of the packets the appdata pass will read, kept while the capture is decoded.

The application metadata pass parses the payloads of a few packets of a capture (forensics/appdata/select.py
chooses them). Reading them back from the file afterwards touched the whole file a second time: on a plain
capture every page of it mapped again (the candidates are spread over the file: 0.25-0.45 s of CPU on the
2M-packet bench capture, most of it page faults), on a compressed one the whole stream decompressed again,
once for the appdata pass and once for the payload labels (86 s instead of 7 s for that capture gzipped).
Instead, the decoder hands each window's chosen frames here while their bytes are in memory, and they are
copied, one after another, into a buffer that goes to an unlinked temporary file as it fills (flat memory:
a 10 GB capture's candidates may be a GB). The pass then reads them densely, in the order they came.
"""

from __future__ import annotations

import contextlib
import mmap
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from forensics.jit import njit

BUFFER_BYTES = 4 << 20  # kept in memory up to this; then written to the temporary file


@njit(cache=True, nogil=True)
def _gather(src, starts, lengths, dst, at):  # noqa: ANN001, ANN202
    """Copy src[starts[r]:starts[r] + lengths[r]] for each r, one after another, into dst from `at`."""
    for r in range(len(starts)):
        s, n = starts[r], lengths[r]
        dst[at:at + n] = src[s:s + n]
        at += n
    return at


class KeptFrames:
    """Frames appended in order (`add`), each found again at the position `add` returned; `view()` then gives
    them all as one buffer (bytes, or a read-only map of the temporary file) to slice and to np.frombuffer.
    `folder`: where the temporary file goes (None: the system's temporary folder); it has no name on disk and
    goes with close() or the process."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self._folder = str(folder) if folder is not None else None
        self._buf = np.empty(BUFFER_BYTES, np.uint8)
        self._used = 0  # bytes of _buf in use
        self._written = 0  # bytes in the temporary file
        self._file = None
        self.closed = False
        # the temporary file could not be written (a full disk, a folder not writable): the frames are given up,
        # and the pass reads the capture file again as it did before frames were kept
        self.failed: OSError | None = None

    @property
    def size(self) -> int:
        """Bytes kept so far."""
        return self._written + self._used

    def add(self, window: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Keep window[starts[r]:starts[r] + lengths[r]] for each r; their positions in view(), int64."""
        lengths = lengths.astype(np.int64, copy=False)
        if self.failed is not None:
            return np.zeros(len(lengths), np.int64)
        need = int(lengths.sum())
        if self._used + need > len(self._buf):
            self._spill()
            if self.failed is not None:
                return np.zeros(len(lengths), np.int64)
            if need > len(self._buf):
                self._buf = np.empty(need, np.uint8)
        at = np.empty(len(lengths), np.int64)
        if len(lengths):
            at[0] = 0
            np.cumsum(lengths[:-1], out=at[1:])
        at += self.size
        self._used = _gather(window, starts.astype(np.int64, copy=False), lengths, self._buf, self._used)
        return at

    def _spill(self) -> None:
        if not self._used or self.failed is not None:
            return
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile(dir=self._folder, prefix="forensics-frames-")
            self._file.write(memoryview(self._buf)[:self._used])
        except OSError as exc:
            self.failed = exc
            self.close()
            return
        self._written += self._used
        self._used = 0

    def finish(self) -> None:
        """No more frames: what is in memory joins the temporary file, if there is one (before any view())."""
        if self._file is not None:
            self._spill()
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as exc:
                self.failed = exc
                self.close()

    @contextlib.contextmanager
    def view(self) -> Iterator[bytes | mmap.mmap]:
        """Every frame kept (after finish()), as one buffer; several views may be open at once, on several
        threads. A map of the temporary file is let go of page by page as it is read (records.let_go)."""
        if self._file is None:
            yield self._buf[:self._used].tobytes()
            return
        with mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) as m:
            yield m

    def close(self) -> None:
        """Let go of the frames (the temporary file is deleted)."""
        self.closed = True
        self._buf = np.empty(0, np.uint8)
        self._used = 0
        if self._file is not None:
            self._file.close()
            self._file = None


@contextlib.contextmanager
def frame_source(path: str, frames: KeptFrames | None) -> Iterator[bytes | mmap.mmap]:
    """The bytes frames are sliced from: the kept frames' view, else the (uncompressed) capture file mapped."""
    if frames is not None:
        with frames.view() as m:
            yield m
        return
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        yield m
