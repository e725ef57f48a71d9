"""Keeping both cores busy: decode the next batch while DuckDB appends the last one (read_ahead), and
import small files side by side with the outcome of one at a time (SideBySide, GuardedProgress)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_DONE = object()


def read_ahead(items: Iterator[T], depth: int = 3, meanwhile: Callable[[], None] | None = None,
               assist: Callable[[T], None] | None = None, idle: Callable[[], None] | None = None) -> Iterator[T]:
    """Iterate `items` in a background thread, `depth` items ahead (the decoder releases the GIL).

    The next item is made only once there is room for it: at most `depth` items wait or are being made beside
    the one the consumer holds (an item made and then held until the queue had room was one more packet batch
    in memory). Exceptions raised by the producer are re-raised here; closing the consumer stops the producer.
    `meanwhile` runs on the consumer's thread once the producer has begun, before the first item is waited for
    (what the consumer will need anyway, done while it would otherwise wait for the first item). `assist` runs
    on the producer's thread with the item it has just queued, when there is no room for the next one (the
    consumer is busy): work on that item the producer may do instead of waiting (the item says whether and
    keeps it from being done twice). `idle` runs on the consumer's thread whenever it would wait for the next
    item, and again every 20 ms while it waits (work of its own it may do meanwhile: it should return at once when
    it has none).
    """
    q: queue.Queue = queue.Queue()  # bounded by `room`
    room = threading.Semaphore(depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            it = iter(items)
            last = None  # the item just queued, for `assist`
            while True:
                free = False
                if last is not None:
                    free = room.acquire(blocking=False)
                    if not free:
                        assist(last)  # type: ignore[misc]  # (last is set only with an assist)
                    last = None
                while not free:
                    free = room.acquire(timeout=0.1)
                    if not free and stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    item = next(it)
                except StopIteration:
                    break
                q.put(item)
                if assist is not None:
                    last = item
                del item
            q.put(_DONE)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    thread = threading.Thread(target=produce, daemon=True, name="forensics-decode")
    thread.start()
    try:
        if meanwhile is not None:
            meanwhile()
        while True:
            item = q.get() if idle is None else _get_idling(q, idle)
            room.release()
            if item is _DONE:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
            del item
    finally:
        stop.set()
        thread.join(timeout=5)


def _get_idling(q: queue.Queue, idle: Callable[[], None]) -> Any:
    """The next item of `q`, with idle() run whenever there is none yet (again every 20 ms while there is none:
    what it has to do may become ready while the consumer waits)."""
    while True:
        if q.empty():
            idle()
        try:
            return q.get(timeout=0.02)
        except queue.Empty:
            continue


class Later(Generic[T]):
    """fn() on a thread of its own, begun now; value() waits for it and returns what it returned, or raises what
    it raised. (The import's reading back of a file once its last batch is decoded: the appdata pass's payloads
    and the first payloads of the flows, while the main thread writes the last parts and flows.)"""

    def __init__(self, fn: Callable[[], T], name: str = "forensics-readback") -> None:
        self._fn = fn
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=name)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to value()
            self._error = exc

    def wait(self) -> None:
        """Wait for fn to end, whatever it returns or raises."""
        self._thread.join()

    def value(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class SideBySide:
    """Files imported side by side: which have been read (and whether they will be stored, under which
    sha256), which are done; an abort stops them all. A file with flow-export datagrams begins its
    transaction once the files before it are done: it then sees the templates and held data sets they
    stored, as a one-at-a-time import would."""

    def __init__(self, n: int, first_id: int) -> None:
        self.first_id = first_id
        self.read: list[bool] = [False] * n
        self.done: list[bool] = [False] * n
        self.digest: list[str | None] = [None] * n  # sha256 of a file that will be stored
        self.path: list[str] = [""] * n
        self.read_upto = 0  # files 0 .. read_upto-1 have all been read
        self.done_upto = 0
        self.stored: dict[str, tuple[int, int]] = {}  # sha256 -> (capture id, index) among files read_upto
        self.cond = threading.Condition()
        self.abort = threading.Event()

    def _wait(self, ready: Callable[[], bool]) -> None:
        while not ready():
            if self.abort.is_set():
                raise KeyboardInterrupt
            self.cond.wait(0.1)

    def _advance(self) -> None:
        while self.read_upto < len(self.read) and self.read[self.read_upto]:
            d = self.digest[self.read_upto]
            if d is not None and d not in self.stored:
                self.stored[d] = (self.first_id + len(self.stored), self.read_upto)
            self.read_upto += 1
        while self.done_upto < len(self.done) and self.done[self.done_upto]:
            self.done_upto += 1
        self.cond.notify_all()

    def was_read(self, index: int, digest: str | None, path: str) -> None:
        with self.cond:
            self.read[index], self.digest[index], self.path[index] = True, digest, path
            self._advance()

    def capture_id(self, index: int) -> tuple[int, int | None]:
        """The id file `index` takes, as a one-at-a-time import would give it (ids in file order, files
        that are not stored take none), and the index of an earlier file with the same content, if any."""
        with self.cond:
            self._wait(lambda: self.read_upto > index)
            cid, first = self.stored[self.digest[index]]
            return cid, (first if first != index else None)

    def wait_done_before(self, index: int) -> None:
        with self.cond:
            self._wait(lambda: self.done_upto >= index)

    def finished(self, index: int) -> None:
        with self.cond:
            if not self.read[index]:  # a file that failed early must not hold the others up
                self.read[index] = True
            self.done[index] = True
            self._advance()


class GuardedProgress:
    """Progress reported from several import threads, one call at a time; an abort stops every reader."""

    def __init__(self, inner: Any, abort: threading.Event) -> None:  # an ingest ImportProgress
        self.inner, self.abort, self.lock = inner, abort, threading.Lock()

    def file_started(self, path: str, size: int) -> None:
        with self.lock:
            self.inner.file_started(path, size)

    def advanced(self, bytes_done: int, packets: int) -> None:
        if self.abort.is_set():
            raise KeyboardInterrupt
        with self.lock:
            self.inner.advanced(bytes_done, packets)

    def file_done(self, result: Any) -> None:
        with self.lock:
            self.inner.file_done(result)
