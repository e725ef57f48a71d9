"""tcpdump's time stamps: -t (none), default, -tt, -ttt, -tttt, -ttttt; always UTC and to the microsecond.

tcpdump prints local time; we print UTC (a case is read on machines in other time zones than the capture's,
and every other output of forensics is UTC), so `TZ=UTC tcpdump` prints the same text. Nanosecond captures
are cut to microseconds as tcpdump does without --nano.
"""

from __future__ import annotations

import datetime as dt

_EPOCH = dt.datetime(1970, 1, 1)


def _clock(us: int) -> str:
    secs, frac = divmod(us, 1_000_000)
    return (_EPOCH + dt.timedelta(seconds=secs)).strftime("%H:%M:%S") + f".{frac:06d}"


def _delta(us: int) -> str:
    secs, frac = divmod(max(us, 0), 1_000_000)
    hours, rest = divmod(secs, 3600)
    return f" {hours:02d}:{rest // 60:02d}:{rest % 60:02d}.{frac:06d}"


class TimeFormat:
    """Formats a packet's time (ns since the epoch) for one run; -ttt and -ttttt keep their reference."""

    def __init__(self, ts_mode: int = 1) -> None:
        """ts_mode: 0 = -t, 1 = default, 2 = -tt, 3 = -ttt, 4 = -tttt, 5 = -ttttt."""
        self.mode = ts_mode
        self.first: int | None = None
        self.prev: int | None = None

    def __call__(self, ts_ns: int) -> str:
        us = ts_ns // 1000
        mode = self.mode
        if self.first is None:
            self.first = us
        prev = self.prev if self.prev is not None else us
        self.prev = us
        if mode == 0:
            return ""
        if mode == 2:
            secs, frac = divmod(us, 1_000_000)
            return f"{secs}.{frac:06d} "
        if mode == 3:
            return _delta(us - prev) + " "
        if mode == 4:
            secs, frac = divmod(us, 1_000_000)
            return (_EPOCH + dt.timedelta(seconds=secs)).strftime("%Y-%m-%d %H:%M:%S") + f".{frac:06d} "
        if mode == 5:
            return _delta(us - self.first) + " "
        return _clock(us) + " "
