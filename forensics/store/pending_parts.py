"""A batch of packets whose Parquet parts one of two threads writes: the import's decode thread, when it has
nothing left to decode and would only wait for the main thread, or the main thread, when it comes to the batch
first (issue 17: the end of a large file's import, where the main thread wrote the last batches alone).

    pending = PendingParts(table, tail=True)       # made on the decode thread
    pending.help(write)                            # decode thread: writes the parts unless main took it
    entries = pending.take(write)                  # main thread: writes them itself, or waits for help's
    entries = pending.take(write, wait=False)      # ... or NOT_YET while help() is still writing them

`write(table)` returns what the main thread registers (the staged parts' entries). It runs once, on the thread
that claimed the batch; an error raised in help() is raised again by take().
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pyarrow as pa


class PendingParts:
    """One batch of packets (an Arrow table of the lake's packet columns) not written yet. `tail`: made when
    the file had (nearly) nothing left to decode, so that the decode thread may write it while it waits."""

    def __init__(self, table: pa.Table, tail: bool = False) -> None:
        self.tail = tail
        self.rows = len(table)
        self._table: pa.Table | None = table
        self._lock = threading.Lock()
        self._claimed = False
        self._done = threading.Event()
        self._entries: Any = None
        self._error: BaseException | None = None

    def _claim(self) -> pa.Table | None:
        with self._lock:
            if self._claimed:
                return None
            self._claimed = True
            table, self._table = self._table, None
            return table

    def help(self, write: Callable[[pa.Table], Any]) -> bool:
        """Write the batch here unless the main thread has claimed it; whether this call wrote it."""
        table = self._claim()
        if table is None:
            return False
        try:
            self._entries = write(table)
        except BaseException as exc:  # raised again on the main thread, by take()
            self._error = exc
        finally:
            del table
            self._done.set()
        return True

    def take(self, write: Callable[[pa.Table], Any], wait: bool = True) -> Any:
        """The batch's written parts: written here when no other thread claimed it, else waited for (with
        `wait` False: NOT_YET while the other thread is still writing them)."""
        table = self._claim()
        if table is not None:
            try:
                return write(table)
            finally:
                self._done.set()
        if not wait and not self._done.is_set():
            return NOT_YET
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._entries

    def wait(self) -> None:
        """Until no thread is writing the batch (an error is left for take())."""
        if self._claimed:
            self._done.wait()


NOT_YET = object()  # take(wait=False): the decode thread is still writing the parts


__all__ = ["NOT_YET", "PendingParts"]
