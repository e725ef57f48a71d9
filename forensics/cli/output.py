"""Output files and folders of every command (report -o, carve -w, demo --out): checked before any work,
written whole or not at all.

- `check_output_file(path)` before the query: a folder, a missing parent folder, a parent that is not a
  folder, or a place where no file can be created is one OutputError line (exit 2). The check creates and
  removes a probe file beside the target, so it tells the truth whatever the permissions model (root, ACLs,
  read-only mounts).
- `atomic_write(path, data)` writes a temp file beside the target and renames it over it; on any error
  (ENOSPC, EIO) the temp file is removed and the target is as it was. Special files (/dev/null, /dev/stdout,
  a FIFO) are written directly: they cannot be renamed over.
- `atomic_files(path)` does the same for a writer that makes one or more files named after `path`
  (carve's out.pcap or out-<linktype>.pcap): it writes them in a temp folder beside the target and moves them
  into place at the end.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from forensics.errors import OutputError


def _special(path: Path) -> bool:
    """An existing file that is not a regular file or folder (a device, a FIFO, a socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _probe(folder: Path, target: Path) -> None:
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".probe")
    except OSError as exc:
        raise OutputError(str(target), f"cannot create a file in {folder}: {_reason(exc)}",
                          "Choose a folder you can write to") from None
    os.close(fd)
    os.unlink(name)


def check_output_file(path: Path | str, option: str = "-o") -> None:
    """Raise OutputError unless `path` can be written as a file (before any query or import work)."""
    target = Path(path)
    if _special(target):
        if not os.access(target, os.W_OK):
            raise OutputError(str(target), f"{option}: special file not writable")
        return
    if target.is_dir():
        raise OutputError(str(target), f"{option} names a folder", f"Give a file name, e.g. {target / 'out'}")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(str(target), f"{option}: file exists and is not writable (permission denied)")
    parent = target.parent
    if not parent.exists():
        raise OutputError(str(target), f"{option}: folder {parent} does not exist", "Create it first")
    if not parent.is_dir():
        raise OutputError(str(target), f"{option}: {parent} is not a folder")
    _probe(parent, target)


def check_output_folder(path: Path | str, option: str = "--out") -> None:
    """Raise OutputError unless `path` is (or can be made as) a folder to write files in."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise OutputError(str(target), f"{option} names a file, not a folder", "Give a folder")
    ancestor = target
    while not ancestor.exists():  # the folder and its parents are made on the way
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(str(target), f"{option}: {ancestor} is not a folder")
    _probe(ancestor, target)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path | str, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` whole, or leave `path` as it was and raise OutputError."""
    target = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if _special(target):
        try:
            with open(target, "wb") as f:
                f.write(raw)
        except OSError as exc:
            raise OutputError(str(target), f"cannot write: {_reason(exc)}") from None
        return
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise OutputError(str(target), f"cannot write: {_reason(exc)}; nothing written",
                          "Free some space or choose another place") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


@contextmanager
def atomic_files(path: Path | str) -> Iterator[Path]:
    """Yield the path a writer should write to (itself, or named alike in a temp folder beside it); at the end
    every file it made in that folder is moved next to `path`. On an error nothing is left behind and an
    OSError becomes an OutputError."""
    target = Path(path)
    if _special(target):
        try:
            yield target
        except OSError as exc:
            raise OutputError(str(target), f"cannot write: {_reason(exc)}") from None
        return
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield staging / target.name
        mask = _umask()
        for made in sorted(staging.iterdir()):
            os.chmod(made, 0o666 & ~mask)
            os.replace(made, target.parent / made.name)
    except OSError as exc:
        raise OutputError(str(target), f"cannot write: {_reason(exc)}; nothing written",
                          "Free some space or choose another place") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
