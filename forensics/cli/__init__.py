"""The `forensics` command: Typer only. Parses, calls the library, maps errors to exit codes here, once.

Each command lives in its own module with a `register(app)` function; COMMAND_MODULES lists them.

One rule for every command:
- usage errors (unknown command or option, bad value, missing argument): Typer's usage message, exit 2;
- a ForensicsError: one line `forensics: <what, where, what to do>`, its exit code (1 partial, 2 fatal);
- SIGINT/SIGTERM: one line, exit 128 + the signal (`import` says which files were kept, which rolled back);
- anything else is a bug: one line `forensics: internal error: ...`, exit 2; `--debug` or FORENSICS_DEBUG=1
  prints the traceback as well.
The handling uses only what Typer itself exports (typer.Exit, typer.Abort, the usage errors it prints), so it
does not depend on `click` being installed beside it (Typer >= 0.19 vendors its own copy).
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import traceback
from typing import Annotated


def _as_program() -> bool:
    """This process is the `forensics` program (the console script, `python -m forensics`, the bench's
    `sys.argv[0] = 'forensics'`), not a library caller or a test that imports the CLI."""
    arg0 = sys.argv[0] if sys.argv else ""
    return os.path.basename(arg0) == "forensics" or arg0.endswith(os.path.join("forensics", "__main__.py"))


_started = False


def _program_start() -> None:
    """What main() does first, done while this module loads when it runs as the program (once): Typer, pydantic
    and the command modules (~0.1 s of CPU on one core) then load beside the import's sha256 and at the
    collector's threshold. (This process only: not a library caller's.)"""
    global _started
    if _started:
        return
    _started = True
    # The commands import numba, DuckDB and pyarrow, about a million objects and no garbage: at the default
    # threshold (a collection every 700 new objects) the collector ran ~350 times in an import of the bench
    # capture, 0.12-0.14 s of CPU; every 50,000: 4 times, 0.05 s.
    gc.set_threshold(50_000, 10, 10)
    # numba's BLAS probe skipped in this process and its workers (forensics/jit.py)
    os.environ.setdefault("FORENSICS_SKIP_BLAS_PROBE", "1")
    # Read by the libraries as they load, so set before numpy and pyarrow are imported (this process and its
    # workers; a value the user set wins). No forensics code uses BLAS: numpy's OpenBLAS otherwise starts a
    # thread per core that spins at load, ~0.1 s of CPU in every command (paired imports of the 2M-packet bench
    # capture: -0.15 s CPU). pyarrow's allocator (mimalloc) hands freed pages back to the kernel after 10 ms, and
    # every batch's Parquet write then faulted in and zeroed fresh pages: after 1 s instead, so a batch reuses
    # the pages of the one before, and a phase's pages still go back once it is over (13.44 M-packet capture,
    # peak RSS, two runs each: 10 ms 879/898 MiB, 1 s 901/915, never 920/940 against the 1 GiB target; 2M
    # packets, 8 paired imports each: 1 s -0.076 s CPU against 10 ms, never -0.049 s more).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("MIMALLOC_PURGE_DELAY", "1000")
    _hash_ahead(sys.argv[1:])


# `forensics import`'s options that take a value (forensics/cli/import_cmd.py); its flags are _IMPORT_FLAGS.
_IMPORT_VALUE_OPTIONS = {"--db", "--idle-timeout", "--active-timeout", "--jobs", "-j", "--engine", "--spark-master"}
_IMPORT_FLAGS = {"--force", "--json", "--quiet", "-q"}


def _hash_ahead(args: list[str]) -> None:
    """`forensics import FILE` (one file, the default engine): begin the file's sha256 (the floor of an import)
    before Typer loads and parses the command line, ~0.2 s of CPU on one core while the other has nothing to do.
    The import command takes it (filehash.hash_early keeps a hash of the same file going; take_early checks the
    file is unchanged). Anything this reading is unsure of (another command, an option it does not know,
    `--opt=value`, several paths, a spark engine) begins nothing: Typer alone decides what the line means."""
    if not args or args[0] != "import":
        return
    paths: list[str] = []
    i = 1
    while i < len(args):
        arg = args[i]
        if arg in _IMPORT_VALUE_OPTIONS:
            if i + 1 >= len(args) or (arg == "--engine" and args[i + 1] != "duckdb"):
                return
            i += 2
        elif arg in _IMPORT_FLAGS:
            i += 1
        elif arg.startswith("-"):
            return
        else:
            paths.append(arg)
            i += 1
    if len(paths) == 1:
        from forensics.readers.filehash import hash_early

        hash_early(paths[0])


if _as_program():
    _program_start()

import typer  # noqa: E402 - after the hash is begun

from forensics.cli import interrupts  # noqa: E402
from forensics.errors import ForensicsError  # noqa: E402

app = typer.Typer(
    name="forensics",
    help="Offline pcap and flow-file forensics: import captures into a DuckDB case, answer with reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMAND_MODULES = ["import_cmd", "info", "demo", "report", "packets", "carve", "flows", "sql", "check",
                   "alerts", "serve", "reconstruct", "runs", "retain", "convert", "compact"]

for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"forensics.cli.{_name}")
    except ModuleNotFoundError as _exc:  # a command module not written yet
        if _exc.name != f"forensics.cli.{_name}":
            raise
        continue
    _mod.register(app)

_debug: list[bool] = []


@app.callback()
def _global_options(
    debug: Annotated[bool, typer.Option("--debug", help="Print the traceback of an error (also FORENSICS_DEBUG=1).")]
    = False,
) -> None:
    """Offline pcap and flow-file forensics: import captures into a DuckDB case, answer with reports."""
    if debug:
        _debug.append(True)


def _debugging() -> bool:
    """--debug, or FORENSICS_DEBUG set to anything but empty/0/false/no (read here, not by Typer, so that an odd
    value cannot make every command a usage error)."""
    return bool(_debug) or os.environ.get("FORENSICS_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _exit(code: int) -> None:
    """Leave without the interpreter's teardown (a few hundred ms of freeing numba, LLVM and DuckDB state):
    every command has closed its case and files by now; only the standard streams need flushing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _say(line: str) -> None:
    """One line on stderr (a message with several lines is joined with '; '), over a progress bar if any."""
    line = "; ".join(part.strip() for part in line.splitlines() if part.strip())
    try:
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K")  # a progress bar may be standing on this line
        print(line, file=sys.stderr)
    except (OSError, ValueError):
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def main() -> None:
    """Entry point: run the app in Typer's standalone mode (it prints usage errors and exits 2 itself);
    map everything that comes out of it to one line on stderr and an exit code."""
    _program_start()  # (already done at load when this process is the forensics program)
    interrupts.install()
    try:
        app()
    except SystemExit as exc:  # Typer's way out: a command's Exit code, a usage error (2), Ctrl-C (130)
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if interrupts.interrupted() and code in (130, 1):  # Typer turns KeyboardInterrupt into Exit(130)
            _say(f"forensics: interrupted ({interrupts.signal_name()})")
            code = interrupts.exit_code()
        _exit(code)
    except ForensicsError as exc:
        if _debugging():
            traceback.print_exc()
        _say(f"forensics: {exc}")
        _exit(exc.exit_code)
    except BaseException as exc:  # noqa: BLE001 - the one place that turns any failure into one line
        if interrupts.interrupted(exc):  # DuckDB reports a signal during a query as "Query interrupted"
            if _debugging():
                traceback.print_exc()
            _say(f"forensics: interrupted ({interrupts.signal_name()})")
            _exit(interrupts.exit_code())
        if _debugging():
            traceback.print_exc()
        _say(f"forensics: internal error: {type(exc).__name__}: {_first_line(exc)} "
             "(run with --debug or FORENSICS_DEBUG=1 for the traceback)")
        _exit(2)
    _exit(0)


if __name__ == "__main__":
    main()
