"""Writing a long result to stdout chunk by chunk; a reader that goes away (`| head`) ends it quietly."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable


def write_stream(chunks: Iterable[str]) -> None:
    """Write each chunk to stdout as it comes. A closed pipe stops the writing without an error, as in
    tcpdump and nfdump: `forensics flows | head` prints ten lines and exits 0."""
    out = sys.stdout
    try:
        for chunk in chunks:
            out.write(chunk)
        out.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())  # the interpreter's final flush must not fail again
        os.close(devnull)
