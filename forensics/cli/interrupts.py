"""SIGINT and SIGTERM: noted, then raised as KeyboardInterrupt so that the file being imported rolls back.

DuckDB runs the handler itself while a query executes and then raises its own `RuntimeError: Query
interrupted` instead of the KeyboardInterrupt; `interrupted(exc)` recognises both.
"""

from __future__ import annotations

import signal

_signalled: list[int] = []


def _handler(signum: int, frame: object) -> None:
    _signalled.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """Ctrl-C and SIGTERM interrupt the command, even where the parent process ignored SIGINT."""
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def _note(signum: int, frame: object) -> None:
    _signalled.append(signum)


def hold() -> None:
    """From now on a signal is noted but raises nothing: the command is already saying what was kept."""
    signal.signal(signal.SIGINT, _note)
    signal.signal(signal.SIGTERM, _note)


def interrupted(exc: BaseException | None = None) -> bool:
    """True when a signal arrived (or `exc` is a KeyboardInterrupt)."""
    return bool(_signalled) or isinstance(exc, KeyboardInterrupt)


def signal_name() -> str:
    """The first signal received: SIGINT or SIGTERM (SIGINT for a KeyboardInterrupt raised otherwise)."""
    return signal.Signals(_signalled[0]).name if _signalled else "SIGINT"


def exit_code() -> int:
    """128 + the signal number, as a shell reports a process ended by it (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + (_signalled[0] if _signalled else signal.SIGINT)
