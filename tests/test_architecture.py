"""The one-way design is a tested contract: import-linter layers, and the library loads no CLI modules."""

from __future__ import annotations

import shutil
import subprocess
import sys

from tests.conftest import ROOT


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is needed (pip install import-linter)"
    run = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "broken" in run.stdout and "0 broken" in run.stdout


def test_library_imports_no_cli_or_template_modules():
    code = (
        "import sys; import forensics.readers.capture, forensics.ingest, forensics.store, forensics.store.info;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'jinja2', 'click'));"
        "print(','.join(bad))"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == ""


def test_ruff_is_clean():
    exe = shutil.which("ruff")
    assert exe, "ruff is needed (pip install ruff)"
    run = subprocess.run([exe, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]
