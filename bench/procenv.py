"""The environment a benchmark gives a `forensics` process it times.

An installed forensics runs from compiled bytecode: `pip install .` writes the package's .pyc files. This
machine's environment sets PYTHONDONTWRITEBYTECODE=1, under which a forensics run from the source tree never
writes them, and every process compiles the whole package again (measured: 0.15 s of CPU a start-up, 0.84 /
0.71 / 0.87 s against 0.62 / 0.67 / 0.67 s for `import forensics.cli, forensics.ingest, forensics.store`). The
benchmarks drop the variable for the processes they time, so the first run writes the bytecode next to the
sources (__pycache__, ignored by git) and the runs after it start as an installed tool does.
"""

from __future__ import annotations

import os
from pathlib import Path


def forensics_env(tree: Path | str | None = None, **extra: str) -> dict[str, str]:
    """os.environ with PYTHONPATH = `tree` (when given) and PYTHONDONTWRITEBYTECODE removed, plus `extra`."""
    env = dict(os.environ, **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env
