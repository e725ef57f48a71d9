"""forensics.jit: in the CLI's processes the compiled kernels load without numba's BLAS probe importing
scipy.linalg (0.2-0.3 s of CPU at every import's first decode), and scipy.linalg stays importable; a library
caller's process keeps numba as it comes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import sys
import numpy as np
from forensics.readers import fastdecode as fd
b = np.zeros(64, np.uint8)
O = np.empty((fd.NCOLS, 4), np.int64)
R = np.empty((len(fd.RECORD_ROWS), 4), np.int64)
print(fd.decode_pcap(b, 0, 0, 0, False, False, 1, O, R, 0, 4))
print('scipy.linalg' in sys.modules)
try:
    import scipy.linalg  # noqa: F401
    print('importable')
except ImportError:
    print('absent')
"""


def _run(script: str, skip: bool) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "FORENSICS_SKIP_BLAS_PROBE"}
    if skip:
        env["FORENSICS_SKIP_BLAS_PROBE"] = "1"  # what forensics.cli.main sets
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=600, env=env).stdout.split()


def test_kernels_load_without_scipy_linalg():
    out = _run(_SCRIPT, skip=True)
    assert out[:4] == ["(0,", "0,", "0)", "False"]  # WALK_END at once on an empty window; scipy.linalg not loaded
    assert out[4] in ("importable", "absent")  # hidden only while numba's probe ran


_LIBRARY = """
from forensics.readers import fastdecode  # noqa: F401  (imports forensics.jit)
import numba.np.arraymath as m
print(m._HAVE_BLAS)
"""


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="numba finds a BLAS through scipy only")
def test_library_caller_keeps_numba_blas():
    # a library caller's process: numba's probe ran and found scipy's BLAS; the CLI's processes skip it
    assert _run(_LIBRARY, skip=False) == ["True"]
    assert _run(_LIBRARY, skip=True) == ["False"]


def test_cli_sets_the_variable():
    script = ("import os, sys\n"
              "import forensics.cli as cli\n"
              "def app():\n"
              "    print(os.environ.get('FORENSICS_SKIP_BLAS_PROBE'), file=sys.stderr)\n"
              "cli.app = app\n"
              "sys.argv = ['forensics', 'info']\n"
              "cli.main()\n")
    env = {k: v for k, v in os.environ.items() if k != "FORENSICS_SKIP_BLAS_PROBE"}
    err = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=env).stderr
    assert err.strip().splitlines()[-1] == "1"
