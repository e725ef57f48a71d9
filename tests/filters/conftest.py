"""Shared pieces for the filter tests: tests/ on sys.path (for builders), tcpdump runner, case fixture."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


def tcpdump_count(path: str | Path, expr: str) -> int:
    """Packets tcpdump counts in `path` for `expr` (run here, the oracle)."""
    exe = shutil.which("tcpdump")
    assert exe, "tcpdump is required for the oracle tests (Debian package tcpdump)"
    out = subprocess.run([exe, "-r", str(path), "--count", expr], capture_output=True, text=True)
    if out.returncode != 0 and "expression rejects all packets" in out.stderr:
        return 0  # libpcap's optimiser proves the filter empty (e.g. 'ip and ip6') and refuses it
    assert out.returncode == 0, f"tcpdump refused {expr!r} on {path}: {out.stderr.strip()}"
    return int(out.stdout.split()[0])


@pytest.fixture
def memcase():
    from forensics.store import Case

    case = Case.open(":memory:")
    yield case
    case.close()
