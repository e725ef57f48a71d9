"""What every case connection is set up with, on both layouts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# `python -c` counts as interactive for DuckDB, which then turns its progress bar on; the bar is drawn on stdout
# (piped or not) for any statement over 2 s, so it landed inside `--json` answers of a harness or notebook
# driving the library (bench/lake_many.py met it on `import --json` of large files: "Extra data")
PROBE = """
import sys
from forensics.store import Case
case = Case.open(sys.argv[1], read_only=sys.argv[2] == "ro")
print(case.con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0])
case.close()
"""


@pytest.mark.parametrize("layout", ["lake", "file"])
def test_duckdb_progress_bar_is_off_so_stdout_stays_the_answer(tmp_path, layout):
    path = tmp_path / ("case" if layout == "lake" else "case.duckdb")
    env = {**os.environ, "FORENSICS_LAYOUT": layout}
    for mode in ("rw", "ro"):
        out = subprocess.run([sys.executable, "-c", PROBE, str(path), mode], capture_output=True, text=True,
                             env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "False", (mode, out.stdout)
