"""numba for forensics' compiled kernels, loaded without numba's BLAS probe.

    from forensics.jit import njit      # instead of `from numba import njit`

The first time numba compiles or loads a cached kernel in a process, its CPU target imports numba.np.arraymath,
whose import checks for a BLAS by importing scipy.linalg.cython_blas. With scipy installed (it is not a
dependency of forensics, but often present) that imports all of scipy.linalg, numpy.f2py and charset_normalizer:
0.25-0.3 s of CPU at the first decode of every import, for linear algebra no forensics kernel uses. Here
numba.np.arraymath is imported once with scipy.linalg hidden, so the probe fails at once: numba then treats the
process as one without scipy, exactly as on a machine without scipy. What that changes: numba.np.arraymath's
_HAVE_BLAS is False, so np.correlate and np.convolve in kernels compiled in the process use numba's plain loop
instead of BLAS (the same values up to rounding; none of ours use them); np.dot and np.linalg check for BLAS when
they compile and keep working. scipy.linalg itself stays importable for any other code.

Only where the process is forensics' own: the CLI sets FORENSICS_SKIP_BLAS_PROBE=1 before any command runs (its
worker processes inherit it). A program that imports forensics as a library keeps numba as it comes unless it sets
the variable itself before its first kernel compiles.
"""

from __future__ import annotations

import os
import sys
import threading

from numba import njit

SKIP_BLAS_PROBE_ENV = "FORENSICS_SKIP_BLAS_PROBE"


def _skip_blas_probe() -> None:
    if os.environ.get(SKIP_BLAS_PROBE_ENV) != "1":
        return  # a library caller's process: numba as it comes
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return  # too late (or scipy.linalg is loaded already: the probe costs nothing then)
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if "scipy.linalg" in sys.modules and sys.modules["scipy.linalg"] is None:
            del sys.modules["scipy.linalg"]


_skip_blas_probe()


@njit(cache=True)
def _first_kernel(x: int) -> int:  # pragma: no cover - compiled
    return x + 1


_warming: threading.Thread | None = None


def warm_up() -> None:
    """Begin numba's one-time set-up in this process on a thread of its own, now.

    The first kernel a process calls, cached or not, first fills numba's CPU target: its typing and lowering
    registries, ~0.3 s of CPU (2M-packet bench capture: 0.35 s of the decode thread's first call against ~0.7 ms
    for each later one). Done here, it runs while the caller loads and opens the case (DuckDB holds no GIL while
    it creates the schema), and the decode thread's first batch starts at once. Calling this again does nothing;
    the decoder's first call waits for the set-up (numba's compile lock) if it is still going."""
    global _warming
    if _warming is not None or os.environ.get("FORENSICS_JIT_WARM", "1") == "0":
        return
    _warming = threading.Thread(target=_first_kernel, args=(1,), daemon=True, name="forensics-jit-warm")
    _warming.start()


__all__ = ["SKIP_BLAS_PROBE_ENV", "njit", "warm_up"]
