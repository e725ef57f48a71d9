"""The `forensics` command: Typer only. Parses, calls the library, maps errors to exit codes here, once.

Each command lives in its own module with a `register(app)` function; COMMAND_MODULES lists them.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

import typer

from forensics.errors import ForensicsError

app = typer.Typer(
    name="forensics",
    help="Offline pcap and flow-file forensics: import captures into a DuckDB case, answer with reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ["import_cmd", "info", "demo", "report", "packets", "carve", "serve"]

for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"forensics.cli.{_name}")
    except ModuleNotFoundError as _exc:  # a command module not written yet
        if _exc.name != f"forensics.cli.{_name}":
            raise
        continue
    _mod.register(app)


_signalled: list[int] = []


def _interrupt(signum: int, frame: object) -> None:
    _signalled.append(signum)
    raise KeyboardInterrupt


_INTERRUPTED = "forensics: interrupted; the file being imported was rolled back"


def _exit(code: int) -> None:
    """Leave without the interpreter's teardown (a few hundred ms of freeing numba, LLVM and DuckDB state):
    every command has closed its case and files by now; only the standard streams need flushing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main() -> None:
    """Entry point: run the app; a ForensicsError becomes one line on stderr and its exit code."""
    # Ctrl-C and SIGTERM roll the file being imported back, even where the parent ignored SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = app(standalone_mode=False)  # Typer returns a command's Exit code instead of raising it
    except ForensicsError as exc:
        print(f"forensics: {exc}", file=sys.stderr)
        _exit(exc.exit_code)
    except KeyboardInterrupt:
        print(_INTERRUPTED, file=sys.stderr)
        _exit(130)
    except typer.Exit as exc:
        _exit(exc.exit_code)
    except typer.Abort:
        _exit(2)
    except Exception as exc:  # click usage errors
        import click

        if _signalled:  # DuckDB reports a signal during a query as its own error ("Query interrupted")
            print(_INTERRUPTED, file=sys.stderr)
            _exit(130)
        if isinstance(exc, click.ClickException):
            exc.show()
            _exit(2)
        raise
    if code == 130:  # Typer turns KeyboardInterrupt into Exit(130)
        print(_INTERRUPTED, file=sys.stderr)
    _exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
