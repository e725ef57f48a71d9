"""Paths -> the sorted list of files to import (folders recursively)."""

from __future__ import annotations

import os
from collections.abc import Iterable


def expand_paths(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """(files, missing): every regular file under the given files and folders, in a stable order."""
    files: list[str] = []
    missing: list[str] = []
    seen: set[str] = set()
    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            found = []
            for root, dirs, names in os.walk(path):
                dirs.sort()
                found.extend(os.path.join(root, n) for n in names if not n.startswith("."))
            candidates = sorted(found)
        elif os.path.isfile(path):
            candidates = [path]
        else:
            missing.append(path)
            continue
        for c in candidates:
            key = os.path.realpath(c)
            if key not in seen and os.path.isfile(c):
                seen.add(key)
                files.append(c)
    return files, missing
