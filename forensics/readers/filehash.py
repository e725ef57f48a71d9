"""sha256 of an input file on another thread (hashlib releases the GIL), begun as early as the caller knows the
file: the import command starts it before it loads the decoder and opens the case (numba, pyarrow, DuckDB and
the schema: about 0.8 s of CPU on one core), so that the hash -- the floor of a forensic import -- runs on the
other core meanwhile instead of beside the decoding.

    hash_early(path)                 # the CLI, before the heavy imports (standard library only here)
    hasher = take_early(path) or FileHasher(path)   # the import, when it gets to the file
    hasher.begin(); ...; hasher.wait(); hasher.digest
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import stat
import threading

HASH_BLOCK = 1 << 20  # bytes read into one reused buffer where the file cannot be mapped (a pipe, a FIFO)
HASH_WINDOW = 32 << 20  # bytes of the file mapped and hashed by one update() call
# A mapped window is hashed without a copy (the 1.3 GB bench capture: 0.74 s of CPU against 0.90 reading 1 MB
# blocks into a buffer), and hashlib holds no GIL for the whole window: the hash needs the GIL once per 32 MB,
# not twice per 1 MB, so it keeps its core while the main thread imports and opens the case (Python code that
# holds the GIL: with 1 MB blocks the hash ran at ~30 % of a core then, and finished during the decoding, whose
# core it took). One window is mapped at a time: it adds at most 32 MB of file pages to the resident set.


class FileShrank(OSError):
    """The file got shorter while it was hashed (a mapped page past its new end would kill the process)."""


def _hash_mapped(h: hashlib._Hash, fd: int, size: int) -> None:
    offset = 0
    while offset < size:
        n = min(HASH_WINDOW, size - offset)
        if os.fstat(fd).st_size < offset + n:  # (a window is mapped only while the file still holds it)
            raise FileShrank(errno.EIO, "the file got shorter while it was read; import it once it is complete")
        with mmap.mmap(fd, n, offset=offset, access=mmap.ACCESS_READ) as window:
            if hasattr(window, "madvise"):
                window.madvise(mmap.MADV_SEQUENTIAL)
            h.update(window)
        offset += n


def sha256_file(path: str) -> str:
    """The sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        st = os.fstat(f.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_size > 0:
            try:
                _hash_mapped(h, f.fileno(), st.st_size)
                return h.hexdigest()
            except FileShrank:
                raise
            except (OSError, ValueError):  # a file system that cannot map: read it instead
                h = hashlib.sha256()
                f.seek(0)
        buf = bytearray(HASH_BLOCK)
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


class FileHasher(threading.Thread):
    """The sha256 of one file, on a thread of its own (begin) or on the caller's (wait without begin)."""

    def __init__(self, path: str) -> None:
        super().__init__(daemon=True, name="forensics-sha256")
        self.path = path
        self.digest: str | None = None
        self.error: OSError | None = None

    def begin(self) -> None:
        """Hash on the thread (once)."""
        if self.ident is None:
            self.start()

    def wait(self) -> None:
        """The digest (or the error) is there after this: joined when begun, else hashed here."""
        if self.ident is not None:
            super().join()
        elif self.digest is None and self.error is None:
            self.run()

    def join(self, timeout: float | None = None) -> None:
        if self.ident is not None:  # not started when it ran on the caller's thread
            super().join(timeout)

    def run(self) -> None:
        try:
            self.digest = sha256_file(self.path)
        except OSError as exc:
            self.error = exc


_early: dict[tuple, FileHasher] = {}
_lock = threading.Lock()


def _key(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def hash_early(path: str) -> None:
    """Begin hashing `path` (a regular file) now, for the import that will ask take_early() for it. One file at
    a time: a hash begun earlier and not taken is forgotten (its thread ends with its file), unless it is of this
    very file (begun by the CLI before it parsed the command line): then it goes on."""
    key = _key(path)
    with _lock:
        if key is not None and key in _early:
            return
        _early.clear()
        if key is not None and os.path.isfile(path):
            hasher = FileHasher(path)
            hasher.begin()
            _early[key] = hasher


def take_early(path: str) -> FileHasher | None:
    """The hasher hash_early() began for this very file (same path, inode, size and modification time), once."""
    key = _key(path)
    with _lock:
        return _early.pop(key, None) if key is not None else None


__all__ = ["HASH_BLOCK", "HASH_WINDOW", "FileHasher", "hash_early", "sha256_file", "take_early"]
