"""Import progress on a terminal (bytes, packets per second); nothing when piped or with --quiet."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # forensics.ingest loads numba and its kernels: only the import command needs them
    from forensics.ingest import FileResult, ImportProgress


class TerminalProgress:
    """One status line on stderr, redrawn at most 10 times a second."""

    def __init__(self) -> None:
        self.path = ""
        self.size = 0
        self.started = 0.0
        self.last = 0.0

    def file_started(self, path: str, size: int) -> None:
        self.path, self.size, self.started, self.last = path, size, time.monotonic(), 0.0

    def advanced(self, bytes_done: int, packets: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.1:
            return
        self.last = now
        elapsed = max(now - self.started, 1e-6)
        pct = min(100.0, 100.0 * bytes_done / self.size) if self.size else 0.0
        width = 24
        filled = int(width * pct / 100)
        name = self.path if len(self.path) <= 40 else "..." + self.path[-37:]
        line = (f"\r{name} [{'#' * filled}{'.' * (width - filled)}] {pct:5.1f}% "
                f"{bytes_done / 1e6:,.1f} MB  {packets / elapsed:,.0f} pkt/s")
        sys.stderr.write(line[:160].ljust(100))
        sys.stderr.flush()

    def file_done(self, result: FileResult) -> None:
        if self.last:
            sys.stderr.write("\r" + " " * 110 + "\r")
            sys.stderr.flush()
        self.last = 0.0


class Ledger:
    """Progress that passes every call on and notes which files were started and what became of them (an
    interrupted import says from this, and from the case, which files were kept and which rolled back)."""

    def __init__(self, inner: ImportProgress) -> None:
        self.inner = inner
        self.started: list[str] = []
        self.done: list[FileResult] = []

    def file_started(self, path: str, size: int) -> None:
        self.started.append(path)
        self.inner.file_started(path, size)

    def advanced(self, bytes_done: int, packets: int) -> None:
        self.inner.advanced(bytes_done, packets)

    def file_done(self, result: FileResult) -> None:
        self.done.append(result)
        self.inner.file_done(result)


def make_progress(quiet: bool) -> ImportProgress:
    """A bar on a terminal, else the null object."""
    if quiet or not sys.stderr.isatty():
        from forensics.ingest import NullProgress

        return NullProgress()
    return TerminalProgress()
