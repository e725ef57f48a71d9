"""Imports files one by one through the library, as `forensics import` does, in its own process.

    python -m tests.fuzz.driver CASE.duckdb FILE...

Prints one JSON line per file: path, status, exit code (the CLI's: 0, 1 partial/rejected, 2 fatal),
packets, message, and "crash" (the exception type and its last traceback line) when anything other
than a forensics.errors error escaped; then a last line with this process's peak resident memory.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import traceback

from forensics.errors import ForensicsError
from forensics.ingest import ImportOptions, import_paths
from forensics.store import Case


class FileTimeout(Exception):
    """One file took longer than FUZZ_FILE_TIMEOUT seconds (a hang, for a file of a few KB)."""


def _alarm(_signum: int, _frame: object) -> None:
    raise FileTimeout(f"no answer within {os.environ.get('FUZZ_FILE_TIMEOUT', '60')} s")


def _warm_up() -> None:
    """Import a one-packet pcap and pcapng first, unguarded: compiling the walks (when numba's cache is
    stale, e.g. after fastdecode.py changed) takes tens of seconds on a busy machine, not a hang."""
    frame = bytes(12) + b"\x08\x00" + bytes([0x45, 0, 0, 20]) + bytes(16)
    pcap = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + struct.pack("<IIII", 1, 0, 34, 34) + frame
    blk = lambda t, body: struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)  # noqa: E731
    pcapng = (blk(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)) + blk(1, struct.pack("<HHI", 1, 0, 0))
              + blk(6, struct.pack("<IIIII", 0, 0, 1, 34, 34) + frame + bytes(2)))
    with tempfile.TemporaryDirectory() as tmp, Case.open(":memory:") as case:
        for name, data in (("w.pcap", pcap), ("w.pcapng", pcapng)):
            path = os.path.join(tmp, name)
            with open(path, "wb") as f:
                f.write(data)
            import_paths(case, [path], ImportOptions())


def _peak_rss_kb() -> int:
    """This process's peak resident memory. VmHWM belongs to the process image itself; ru_maxrss also keeps the
    parent's resident size at fork across exec (Linux), so a child of a 1 GB pytest worker reported 1 GB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str]) -> int:
    db, paths = argv[0], argv[1:]
    limit = int(os.environ.get("FUZZ_FILE_TIMEOUT", "60"))
    # Compile the walks in a process of their own: numba's cache is then warm here, and LLVM's compile-time
    # memory (close to 1 GB when the cache is stale, as in a fresh clone) is not counted as the import's.
    subprocess.run([sys.executable, "-c", "from tests.fuzz.driver import _warm_up; _warm_up()"], check=True)
    _warm_up()
    signal.signal(signal.SIGALRM, _alarm)
    with Case.open(db) as case:
        for path in paths:
            row: dict = {"path": path}
            signal.alarm(limit)
            try:
                summary = import_paths(case, [path], ImportOptions())
                (result,) = summary.files
                row.update(status=result.status, exit=summary.exit_code, packets=result.packets,
                           message=result.message)
            except ForensicsError as exc:
                row.update(status="error", exit=exc.exit_code, packets=0, message=str(exc))
            except Exception as exc:  # noqa: BLE001 - what the fuzz test is looking for
                tb = traceback.format_exception(exc)
                where = tb[-2].strip()[:300] if len(tb) > 1 else ""
                row.update(status="crash", exit=None, packets=None, crash=f"{type(exc).__name__}: {exc}"[:300],
                           where=where)
            finally:
                signal.alarm(0)
            print(json.dumps(row), flush=True)
    print(json.dumps({"maxrss_kb": _peak_rss_kb()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
