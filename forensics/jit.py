"""numba for forensics' compiled kernels, loaded without numba's BLAS probe.

    from forensics.jit import njit      # instead of `from numba import njit`

The first time numba compiles or loads a cached kernel in a process, its CPU target imports numba.np.arraymath,
whose import checks for a BLAS by importing scipy.linalg.cython_blas. With scipy installed (it is not a
dependency of forensics, but often present) that imports all of scipy.linalg, numpy.f2py and charset_normalizer:
0.25-0.3 s of CPU at the first decode of every import, for linear algebra no forensics kernel uses. Here
numba.np.arraymath is imported once with scipy.linalg hidden, so the probe fails at once: numba then treats the
process as one without scipy (np.dot, np.linalg refused in kernels compiled in this process: none of ours use
them), exactly as on a machine without scipy. scipy.linalg itself stays importable for any other code.
"""

from __future__ import annotations

import sys

from numba import njit


def _skip_blas_probe() -> None:
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return  # too late (or scipy.linalg is loaded already: the probe costs nothing then)
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if "scipy.linalg" in sys.modules and sys.modules["scipy.linalg"] is None:
            del sys.modules["scipy.linalg"]


_skip_blas_probe()

__all__ = ["njit"]
