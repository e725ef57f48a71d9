"""Typed errors. Each carries where it happened; the CLI maps them to exit codes in one place."""

from __future__ import annotations


class ForensicsError(Exception):
    """Base class: a one-line message that says what, where and what to do."""

    exit_code = 2


class UsageError(ForensicsError):
    """Bad arguments, unknown names, malformed configuration."""


class InputError(ForensicsError):
    """An input file cannot be read (as a whole or from some offset on).

    `path` and `offset` name the place; `hint` says what to do.
    """

    def __init__(self, path: str, offset: int | None, what: str, hint: str = "") -> None:
        self.path = str(path)
        self.offset = offset
        self.what = what
        self.hint = hint
        where = f"{self.path}" + (f", byte offset {offset}" if offset is not None else "")
        msg = f"{where}: {what}"
        if hint:
            msg += f". {hint}"
        super().__init__(msg)


class TruncatedError(InputError):
    """The data stops before a header or record it announces ends."""


class MalformedError(InputError):
    """The data is not what its format says (bad magic, impossible length, garbage)."""


class DefinitionError(ForensicsError):
    """A .sql report or check definition is malformed: names the file and line."""

    def __init__(self, path: str, line: int | None, what: str) -> None:
        self.path = str(path)
        self.line = line
        super().__init__(f"{path}" + (f":{line}" if line else "") + f": {what}")


class FilterSyntaxError(UsageError):
    """A filter expression does not parse: names the column and what was expected."""

    def __init__(self, expr: str, column: int, what: str) -> None:
        self.expr = expr
        self.column = column
        super().__init__(f"filter column {column}: {what}: {expr!r}")


class SourceMissingError(ForensicsError):
    """A capture needed for carving or dumping is missing or changed on disk."""


class OutputError(ForensicsError):
    """An output file or folder cannot be written: names the path and the reason (exit 2)."""

    def __init__(self, path: str, what: str, hint: str = "") -> None:
        self.path = str(path)
        super().__init__(f"{path}: {what}" + (f". {hint}" if hint else ""))


class Interrupted(ForensicsError):
    """SIGINT or SIGTERM stopped the command; the message says what was kept and what was rolled back."""

    def __init__(self, message: str, exit_code: int = 130) -> None:
        self.exit_code = exit_code
        super().__init__(message)
