"""Window resolution and bins: automatic sizes at the documented thresholds, clock alignment, periods."""

from __future__ import annotations

import datetime as dt

import pytest

from forensics.errors import UsageError
from forensics.reports.timebins import auto_bin, parse_bin, period_start, resolve_window

H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


@pytest.mark.parametrize("span, secs", [
    (24 * H, 300), (24 * H + dt.timedelta(seconds=1), 1800), (7 * D, 1800), (7 * D + H, 7200),
    (92 * D, 7200), (93 * D, 86400), (400 * D, 86400),
])
def test_auto_bin_thresholds(span, secs):
    assert auto_bin(span) == secs


def test_bins_are_aligned_to_the_clock():
    w = resolve_window((None, None), "2016-09-06T12:03:10Z", "2016-09-06T13:01:00Z")
    assert (w.start, w.end, w.bin_secs) == (dt.datetime(2016, 9, 6, 12, 0), dt.datetime(2016, 9, 6, 13, 5), 300)


def test_period_with_end_and_bin_override():
    w = resolve_window((None, None), end="2016-09-07T00:00:00+02:00", period="weekly", bin_size="2h")
    assert (w.start, w.end, w.bin_secs) == (dt.datetime(2016, 8, 30, 22), dt.datetime(2016, 9, 6, 22), 7200)


@pytest.mark.parametrize("period, start", [
    ("monthly", dt.datetime(2016, 2, 29)), ("quarterly", dt.datetime(2015, 12, 31)),
    ("yearly", dt.datetime(2015, 3, 31)),
])
def test_calendar_periods(period, start):
    assert period_start(period, dt.datetime(2016, 3, 31)) == start


@pytest.mark.parametrize("text, secs", [("300", 300), ("5min", 300), ("30m", 1800), ("2h", 7200), ("1d", 86400)])
def test_parse_bin(text, secs):
    assert parse_bin(text) == secs


@pytest.mark.parametrize("kwargs, fragment", [
    ({"bin_size": "7min"}, "must divide a day"),
    ({"bin_size": "fast"}, "write a size"),
    ({"start": "2016-09-07", "end": "2016-09-06"}, "before it starts"),
    ({"start": "yesterday"}, "write e.g."),
    ({"period": "hourly", "end": "2016-09-06"}, "--period 'hourly'"),
])
def test_bad_window_options(kwargs, fragment):
    with pytest.raises(UsageError, match=fragment):
        resolve_window((dt.datetime(2016, 9, 6), dt.datetime(2016, 9, 6, 1)), **kwargs)
