"""Report time windows: --from/--to or --period/--end, the automatic bin size, clock alignment."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from forensics.errors import UsageError
from forensics.sqlfiles import parse_timestamp

PERIODS = ("daily", "weekly", "monthly", "quarterly", "yearly")
_HOUR, _DAY = 3600, 86400
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": _HOUR, "hour": _HOUR, "d": _DAY, "day": _DAY}


@dataclass(frozen=True)
class Window:
    """[start, end) in naive UTC, with its bin size in seconds; start and end are on bin boundaries."""

    start: dt.datetime
    end: dt.datetime
    bin_secs: int


def auto_bin(span: dt.timedelta) -> int:
    """Bin size for a window: up to 24 h, 5 min; up to 7 days, 30 min; up to ~3 months, 2 h; beyond, 1 day."""
    secs = span.total_seconds()
    if secs <= _DAY:
        return 300
    if secs <= 7 * _DAY:
        return 1800
    if secs <= 92 * _DAY:
        return 2 * _HOUR
    return _DAY


def parse_bin(text: str | int) -> int:
    """'5min', '30m', '2h', '1d', '300' -> seconds (a positive divisor-friendly size)."""
    if isinstance(text, int):
        secs = text
    else:
        match = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", str(text).lower())
        if not match or match.group(2) not in ("", *_UNITS):
            raise UsageError(f"--bin {text!r}: write a size such as 300, 5min, 30m, 2h or 1d")
        secs = int(match.group(1)) * _UNITS.get(match.group(2), 1)
    if secs <= 0 or (secs < _DAY and _DAY % secs) or (secs >= _DAY and secs % _DAY):
        raise UsageError(f"--bin {text!r}: a bin must divide a day (300, 1800, 3600 ...) or be whole days")
    return secs


def _align_down(t: dt.datetime, secs: int) -> dt.datetime:
    epoch = dt.datetime(1970, 1, 1)
    us = int((t - epoch) / dt.timedelta(microseconds=1))
    step = secs * 1_000_000
    return epoch + dt.timedelta(microseconds=(us // step) * step)


def _align_up(t: dt.datetime, secs: int) -> dt.datetime:
    down = _align_down(t, secs)
    return down if down == t else down + dt.timedelta(seconds=secs)


def _months_back(t: dt.datetime, months: int) -> dt.datetime:
    year, month = divmod(t.year * 12 + (t.month - 1) - months, 12)
    day = min(t.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
                      31, 31, 30, 31, 30, 31][month])
    return t.replace(year=year, month=month + 1, day=day)


def period_start(period: str, end: dt.datetime) -> dt.datetime:
    """The start of a daily/weekly/monthly/quarterly/yearly period ending at `end`."""
    if period == "daily":
        return end - dt.timedelta(days=1)
    if period == "weekly":
        return end - dt.timedelta(days=7)
    if period in ("monthly", "quarterly", "yearly"):
        return _months_back(end, {"monthly": 1, "quarterly": 3, "yearly": 12}[period])
    raise UsageError(f"--period {period!r}: use one of {', '.join(PERIODS)}")


def resolve_window(
    data_range: tuple[dt.datetime | None, dt.datetime | None],
    start: object = None, end: object = None, period: str | None = None, bin_size: str | int | None = None,
) -> Window:
    """The report window from the options; without any, the data's own time range (`data_range`).

    Bins are aligned to the clock: the window is widened to whole bins (start down, end up).
    """
    try:
        t_from = parse_timestamp(start) if start is not None else None
        t_to = parse_timestamp(end) if end is not None else None
    except ValueError as exc:
        raise UsageError(f"--from/--to/--end: {exc}; write e.g. 2016-09-06T12:00:00Z") from None
    if period is not None:
        if t_from is not None:
            raise UsageError("--period goes with --end, not --from; give --from/--to or --period/--end")
        if t_to is None:
            if data_range[1] is None:
                raise UsageError("--period needs --end T when the case holds no flows")
            t_to = data_range[1] + dt.timedelta(microseconds=1)
        t_from = period_start(period, t_to)
    lo, hi = data_range
    if t_from is None:
        t_from = lo if lo is not None else (t_to - dt.timedelta(days=1) if t_to else dt.datetime(1970, 1, 1))
    if t_to is None:
        t_to = hi + dt.timedelta(microseconds=1) if hi is not None else t_from + dt.timedelta(days=1)
    if t_to <= t_from:
        raise UsageError(f"the window ends ({t_to.isoformat()}) before it starts ({t_from.isoformat()})")
    secs = parse_bin(bin_size) if bin_size is not None else auto_bin(t_to - t_from)
    return Window(_align_down(t_from, secs), _align_up(t_to, secs), secs)
