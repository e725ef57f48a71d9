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


def test_too_many_bins_is_refused_with_the_arithmetic():
    with pytest.raises(UsageError) as exc:
        resolve_window((None, None), "2003-01-01T00:00:00Z", "2020-01-01T00:00:00Z", bin_size="1s")
    # 17 years of seconds, counted independently: days between the dates * 86400
    days = (dt.date(2020, 1, 1) - dt.date(2003, 1, 1)).days
    assert f"makes {days * 86400:,} bins; the limit is 100,000: use --bin 1d" in str(exc.value)


@pytest.mark.parametrize("kwargs", [
    {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z"},
    {"start": "0001-01-01T00:00:00Z", "end": "9999-12-31T23:59:59Z", "bin_size": "1d"},
    {"bin_size": "999999999999999999999d"},
    {"bin_size": "100000000d"},
])
def test_extreme_windows_and_bins_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        resolve_window((dt.datetime(2016, 9, 6), dt.datetime(2016, 9, 6, 1)), **kwargs)


def test_no_data_and_no_window_says_so_instead_of_1970():
    with pytest.raises(UsageError, match="no traffic"):
        resolve_window((None, None))
    with pytest.raises(UsageError, match="no traffic"):
        resolve_window((None, None), start="2016-09-06T00:00:00Z")


def test_sparse_long_case_gets_few_bins():
    # two flows 17 years apart: the automatic bin keeps the window to at most 1,000 bins
    w = resolve_window((dt.datetime(2003, 5, 1), dt.datetime(2020, 5, 1)))
    assert (w.end - w.start) / dt.timedelta(seconds=w.bin_secs) <= 1000
    # data of one hour inside a given week: bins sized from the data, not the week
    w = resolve_window((dt.datetime(2016, 9, 6, 12), dt.datetime(2016, 9, 6, 13)),
                       "2016-09-05T00:00:00Z", "2016-09-08T00:00:00Z")
    assert w.bin_secs == 300
