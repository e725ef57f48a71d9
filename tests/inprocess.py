"""`forensics ARGS` run in this process (Typer's CliRunner) for tests that check what a command answers, not
how the process behaves: no interpreter start and import per call. Exit codes of the real process, signals,
piping and the one-line error mapping of forensics.cli.main stay with subprocess tests; a command that raises
here fails the test with its traceback."""

from __future__ import annotations

import subprocess


def cli(*args: str) -> subprocess.CompletedProcess:
    """The command's exit code, stdout and stderr, as subprocess.run(capture_output=True, text=True) gives."""
    from typer.testing import CliRunner

    from forensics.cli import app

    res = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return subprocess.CompletedProcess(["forensics", *args], res.exit_code, res.stdout, res.stderr)
