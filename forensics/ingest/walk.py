"""Paths -> the sorted list of files to import (folders recursively), and what cannot be imported, with why.

Only regular files are imported: the import needs a file's size, hashes it (sha256) and reads it twice, so a
named pipe, a device (/dev/zero, /dev/urandom), a socket is refused with one line saying what it is, whether
it was named on the command line or found in a folder. So are dangling symbolic links, symbolic link loops
and folders that cannot be listed. Symbolic links to folders are followed after the real folders, each folder
walked once (a link back to a folder it is in is reported as a loop). Names starting with "." are left out.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable

_WHAT = {
    stat.S_IFIFO: "a named pipe (FIFO), not a regular file; the import hashes a file and reads it twice. "
                  "Save the stream to a file first (e.g. cat PIPE > capture.pcap)",
    stat.S_IFCHR: "a character device, not a capture file; nothing read. Give a capture file",
    stat.S_IFBLK: "a block device, not a capture file; nothing read. Copy the capture off it into a file first",
    stat.S_IFSOCK: "a socket, not a capture file; nothing read",
}


def _kind(path: str) -> tuple[str, str]:
    """("dir" | "file" | "problem", the problem's one-line message)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return "problem", f"{path}: dangling symbolic link to {os.readlink(path)} (no such file); nothing read"
        return "problem", f"{path}: no such file or folder"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "problem", f"{path}: symbolic link loop ({exc.strerror}); nothing read"
        return "problem", f"{path}: cannot read: {exc.strerror}"
    if stat.S_ISDIR(st.st_mode):
        return "dir", ""
    if stat.S_ISREG(st.st_mode):
        return "file", ""
    what = _WHAT.get(stat.S_IFMT(st.st_mode), "not a regular file; nothing read")
    return "problem", f"{path}: {what}"


def _walk(top: str, seen_dirs: set[str], problems: list[tuple[str, str]]) -> list[str]:
    """Every regular file under `top` (a folder), sorted by path; what cannot be imported goes to `problems`.
    Real folders are walked first, then symbolic links to folders not walked yet, so that a file is named
    by its real path where it has one."""
    found: list[str] = []
    found_problems: list[tuple[str, str]] = []
    stack = [top]
    links: list[tuple[str, str]] = []  # (link, the folder holding it)
    while stack or links:
        if not stack:
            link, holder = links.pop(0)
            real = os.path.realpath(link)
            if real in seen_dirs:  # its files are in already
                if (os.path.realpath(holder) + os.sep).startswith(real + os.sep):
                    found_problems.append((link, f"{link}: symbolic link loop (to {real}, a folder it is in); "
                                                 "not followed"))
                continue
            seen_dirs.add(real)
            stack.append(link)
            continue
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                names = sorted(e.name for e in it if not e.name.startswith("."))
        except OSError as exc:
            found_problems.append((folder, f"{folder}: cannot list folder: {exc.strerror}"))
            continue
        for name in names:
            path = os.path.join(folder, name)
            kind, message = _kind(path)
            if kind == "file":
                found.append(path)
            elif kind == "dir" and os.path.islink(path):
                links.append((path, folder))
            elif kind == "dir":
                seen_dirs.add(os.path.realpath(path))
                stack.append(path)
            else:
                found_problems.append((path, message))
    problems.extend(sorted(found_problems))
    return sorted(found)


def expand_paths(paths: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """(files, problems): every regular file under the given files and folders, in a stable order, and
    (path, one-line message) for each path or folder entry that cannot be imported."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    seen_dirs: set[str] = set()
    for raw in paths:
        path = os.fspath(raw)
        kind, message = _kind(path)
        if kind == "dir":
            seen_dirs.add(os.path.realpath(path))
            candidates = _walk(path, seen_dirs, problems)
        elif kind == "file":
            candidates = [path]
        else:
            problems.append((path, message))
            continue
        for c in candidates:
            key = os.path.realpath(c)
            if key not in seen:
                seen.add(key)
                files.append(c)
    return files, problems
