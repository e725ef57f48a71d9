"""Report time windows: --from/--to or --period/--end, the automatic bin size, clock alignment."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from forensics.errors import UsageError
from forensics.sqlfiles import parse_timestamp

PERIODS = ("daily", "weekly", "monthly", "quarterly", "yearly")
_HOUR, _DAY = 3600, 86400
# A window and bin that would make more bins than this are refused before any work (issue 10: --bin 5min over
# 2003-2020 passed 10 GB of memory in 125 s; 100,000 bins of 5 min are 347 days, of 1 d 273 years).
MAX_BINS = 100_000
# The automatic bin keeps a window to at most this many bins: a sparse, long case is not thousands of empty
# bins (issue 11: 3,457 daily bins for 4 flows made a 2.7 MB JSON). 1,000 is a chart's width in pixels.
MAX_AUTO_BINS = 1_000
# Automatic sizes, smallest first; beyond a day whole weeks, 30 days, 91 days and 365 days.
AUTO_LADDER = (300, 1800, 2 * _HOUR, _DAY, 7 * _DAY, 30 * _DAY, 91 * _DAY, 365 * _DAY)
# The largest bin accepted: 100 years.
MAX_BIN_SECS = 36_500 * _DAY
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": _HOUR, "hour": _HOUR, "d": _DAY, "day": _DAY}


@dataclass(frozen=True)
class Window:
    """[start, end) in naive UTC, with its bin size in seconds; start and end are on bin boundaries."""

    start: dt.datetime
    end: dt.datetime
    bin_secs: int


def auto_bin(span: dt.timedelta, window: dt.timedelta | None = None) -> int:
    """Bin size for a span of data: up to 24 h, 5 min; up to 7 days, 30 min; up to ~3 months, 2 h; beyond, 1 day.

    With `window` (the whole report window), the size grows along AUTO_LADDER until the window holds at most
    MAX_AUTO_BINS bins.
    """
    secs = span.total_seconds()
    if secs <= _DAY:
        size = 300
    elif secs <= 7 * _DAY:
        size = 1800
    elif secs <= 92 * _DAY:
        size = 2 * _HOUR
    else:
        size = _DAY
    if window is not None:
        for step in AUTO_LADDER:
            if step >= size and window.total_seconds() / step <= MAX_AUTO_BINS:
                return step
        return AUTO_LADDER[-1]
    return size


def _bin_text(secs: int) -> str:
    for unit, size in (("d", _DAY), ("h", _HOUR), ("min", 60)):
        if secs >= size and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def bin_count(start: dt.datetime, end: dt.datetime, secs: int) -> int:
    """How many clock-aligned bins of `secs` seconds cover [start, end) (integer arithmetic, no overflow)."""
    epoch = dt.datetime(1970, 1, 1)
    lo = (start - epoch) // dt.timedelta(microseconds=1)
    hi = (end - epoch) // dt.timedelta(microseconds=1)
    step = secs * 1_000_000
    return -(-hi // step) - lo // step


def check_bin_count(start: dt.datetime, end: dt.datetime, secs: int) -> None:
    """Refuse a window and bin that make more than MAX_BINS bins, with the arithmetic and a size that fits."""
    count = bin_count(start, end, secs)
    if count <= MAX_BINS:
        return
    # advise a size that stays readable (at most a tenth of the limit), else any that fits
    fits = next((s for s in (*AUTO_LADDER, MAX_BIN_SECS) if bin_count(start, end, s) <= MAX_BINS // 10), None)
    advice = f"use --bin {_bin_text(fits)} or narrow --from/--to" if fits else "narrow --from/--to"
    span = f"{start.date().isoformat()}..{end.date().isoformat()}"
    raise UsageError(f"--bin {_bin_text(secs)} over {span} makes {count:,} bins; "
                     f"the limit is {MAX_BINS:,}: {advice}")


def parse_bin(text: str | int) -> int:
    """'5min', '30m', '2h', '1d', '300' -> seconds (a positive divisor-friendly size)."""
    if isinstance(text, int):
        secs = text
    else:
        match = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", str(text).lower())
        if not match or match.group(2) not in ("", *_UNITS):
            raise UsageError(f"--bin {text!r}: write a size such as 300, 5min, 30m, 2h or 1d")
        digits = match.group(1).lstrip("0") or "0"
        if len(digits) > 12:
            raise UsageError(f"--bin {text!r}: at most {MAX_BIN_SECS // _DAY:,} days")
        secs = int(digits) * _UNITS.get(match.group(2), 1)
    if secs > MAX_BIN_SECS:
        raise UsageError(f"--bin {text!r}: at most {MAX_BIN_SECS // _DAY:,} days")
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

    Bins are aligned to the clock: the window is widened to whole bins (start down, end up). The automatic
    bin is chosen from the span of the data inside the window (capped at MAX_AUTO_BINS bins over the
    window); a given --bin that makes more than MAX_BINS bins is refused. With neither data nor --from/--to
    there is no window: UsageError saying so (never a window at 1970).
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
    if lo is None and (t_from is None or t_to is None):
        raise UsageError("no traffic in the case or the chosen scope, so no time window to report on: "
                         "import captures, widen --scope/--filter, or give both --from and --to")
    if t_from is None:
        t_from = lo
    if t_to is None:
        t_to = hi + dt.timedelta(microseconds=1)
    if t_to <= t_from:
        raise UsageError(f"the window ends ({t_to.isoformat()}) before it starts ({t_from.isoformat()})")
    if bin_size is not None:
        secs = parse_bin(bin_size)
        check_bin_count(t_from, t_to, secs)
    else:
        d_lo = max(lo, t_from) if lo is not None else t_from
        d_hi = min(hi, t_to) if hi is not None else t_to
        secs = auto_bin(d_hi - d_lo if d_hi > d_lo else dt.timedelta(0), t_to - t_from)
    try:
        return Window(_align_down(t_from, secs), _align_up(t_to, secs), secs)
    except OverflowError:
        span = f"{t_from.date().isoformat()}..{t_to.date().isoformat()}"
        raise UsageError(f"--from/--to {span} cannot be widened to whole {_bin_text(secs)} bins "
                         "within years 1..9999: narrow --from/--to") from None
