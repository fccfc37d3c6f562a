"""Half-open windows: splitting, month ends, DST days, bound types and error messages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from db2api.errors import RangeError
from db2api.records.windows import Window, parse_length, split

LONDON = ZoneInfo("Europe/London")
HOUR = timedelta(hours=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def assert_contiguous(windows: list[Window], start: datetime, end: datetime) -> None:
    assert windows[0].start == start
    assert windows[-1].end == end
    for before, after in pairwise(windows):
        assert before.end == after.start


def test_a_month_splits_into_one_window_per_day():
    windows = split(date(2024, 1, 1), date(2024, 2, 1))

    assert len(windows) == 31
    assert {w.end - w.start for w in windows} == {timedelta(days=1)}
    assert windows[0] == Window(utc(2024, 1, 1), utc(2024, 1, 2))
    assert windows[-1] == Window(utc(2024, 1, 31), utc(2024, 2, 1))
    assert_contiguous(windows, utc(2024, 1, 1), utc(2024, 2, 1))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # Jan 31 -> Feb 1 crosses a month end.
        ("2024-01-30", "2024-02-02", ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-02"]),
        # 2024 is a leap year: Feb 29 is a day of its own.
        ("2024-02-28", "2024-03-02", ["2024-02-28", "2024-02-29", "2024-03-01", "2024-03-02"]),
        # 2023 is not.
        ("2023-02-28", "2023-03-02", ["2023-02-28", "2023-03-01", "2023-03-02"]),
        ("2023-12-31", "2024-01-02", ["2023-12-31", "2024-01-01", "2024-01-02"]),
    ],
)
def test_daily_windows_cross_month_and_year_ends(start, end, expected):
    windows = split(start, end, "1d")

    days = [date.fromisoformat(d) for d in expected]
    assert [(w.start, w.end) for w in windows] == [
        (utc(a.year, a.month, a.day), utc(b.year, b.month, b.day)) for a, b in pairwise(days)
    ]


@pytest.mark.parametrize(
    ("start", "end", "length", "count", "last"),
    [
        (utc(2024, 1, 1), utc(2024, 1, 1, 10), "3h", 4, timedelta(hours=1)),
        (utc(2024, 1, 1), utc(2024, 1, 4, 12), "1d", 4, timedelta(hours=12)),
        (utc(2024, 1, 1), utc(2024, 1, 1, 0, 50), "15m", 4, timedelta(minutes=5)),
        (utc(2024, 1, 1), utc(2024, 1, 1, 0, 0, 1), "1h", 1, timedelta(seconds=1)),
        (utc(2024, 1, 1), utc(2024, 1, 20), "1w", 3, timedelta(days=5)),
    ],
)
def test_the_last_window_is_cut_at_the_range_end(start, end, length, count, last):
    windows = split(start, end, length)

    assert len(windows) == count
    assert windows[-1].end - windows[-1].start == last
    assert {w.end - w.start for w in windows[:-1]} <= {parse_length(length)}
    assert_contiguous(windows, start, end)


@pytest.mark.parametrize(
    ("start", "end", "length", "timezone_name"),
    [
        (date(2024, 1, 1), date(2024, 12, 31), "1d", "Europe/London"),
        (date(2024, 3, 1), date(2024, 11, 1), "1w", "Europe/London"),
        (date(2024, 3, 30), date(2024, 4, 2), "6h", "Europe/London"),
        (date(2024, 10, 26), date(2024, 10, 29), "90m", "Europe/London"),
        (date(2024, 3, 9), date(2024, 3, 12), "1d", "America/New_York"),
        (utc(2024, 1, 1, 7, 13), utc(2024, 1, 3, 2, 2), "7m", "UTC"),
    ],
)
def test_windows_are_contiguous_and_cover_the_range_exactly(start, end, length, timezone_name):
    windows = split(start, end, length, timezone_name)
    tz = UTC if timezone_name == "UTC" else ZoneInfo(timezone_name)

    def moment(value):
        if isinstance(value, datetime):
            return value
        return datetime(value.year, value.month, value.day, tzinfo=tz).astimezone(UTC)

    assert_contiguous(windows, moment(start), moment(end))
    assert all(w.start.utcoffset() == timedelta(0) for w in windows)
    assert all(w.start < w.end for w in windows)


@pytest.mark.parametrize(
    ("day", "hours", "start", "end"),
    [
        # Clocks go forward: a 23-hour day, from midnight GMT to midnight BST.
        (date(2024, 3, 31), 23, utc(2024, 3, 31, 0), utc(2024, 3, 31, 23)),
        # Clocks go back: a 25-hour day, from midnight BST to midnight GMT.
        (date(2024, 10, 27), 25, utc(2024, 10, 26, 23), utc(2024, 10, 28, 0)),
        # An ordinary summer day is 24 hours starting at 23:00 UTC the day before.
        (date(2024, 7, 1), 24, utc(2024, 6, 30, 23), utc(2024, 7, 1, 23)),
    ],
)
def test_london_days_start_at_local_midnight_across_dst(day, hours, start, end):
    windows = split(day - timedelta(days=1), day + timedelta(days=2), "1d", "Europe/London")

    by_day = {w.start.astimezone(LONDON).date(): w for w in windows}
    window = by_day[day]
    assert (window.start, window.end) == (start, end)
    assert window.end - window.start == timedelta(hours=hours)
    for w in windows:
        local = w.start.astimezone(LONDON)
        assert (local.hour, local.minute) == (0, 0)


@pytest.mark.parametrize(
    ("day", "length", "steps"),
    [
        # 23 local hours: 23 one-hour windows, or 6h x 3 then a 5h remainder.
        (date(2024, 3, 31), "1h", [HOUR] * 23),
        (date(2024, 3, 31), "6h", [6 * HOUR] * 3 + [5 * HOUR]),
        # 25 local hours: 25 one-hour windows, or 6h x 4 then a 1h remainder.
        (date(2024, 10, 27), "1h", [HOUR] * 25),
        (date(2024, 10, 27), "6h", [6 * HOUR] * 4 + [HOUR]),
    ],
)
def test_sub_day_windows_step_in_exact_utc_hours_across_dst(day, length, steps):
    windows = split(day, day + timedelta(days=1), length, "Europe/London")

    assert [w.end - w.start for w in windows] == steps
    assert len({w.start for w in windows}) == len(windows)  # no hour read twice
    first = datetime(day.year, day.month, day.day, tzinfo=LONDON).astimezone(UTC)
    assert [w.start for w in windows] == [
        first + sum(steps[:i], timedelta()) for i in range(len(steps))
    ]


@pytest.mark.parametrize(
    ("bound", "timezone_name", "expected"),
    [
        # A date is midnight in the job's zone.
        (date(2024, 6, 1), "UTC", utc(2024, 6, 1)),
        (date(2024, 6, 1), "Europe/London", utc(2024, 5, 31, 23)),
        (date(2024, 1, 15), "Europe/London", utc(2024, 1, 15)),
        # A naive datetime is read in the job's zone.
        (datetime(2024, 6, 1, 6, 30), "UTC", utc(2024, 6, 1, 6, 30)),
        (datetime(2024, 6, 1, 6, 30), "Europe/London", utc(2024, 6, 1, 5, 30)),
        # An aware datetime is taken as it is, whatever the job's zone.
        (utc(2024, 6, 1, 6, 30), "Europe/London", utc(2024, 6, 1, 6, 30)),
        (
            datetime(2024, 6, 1, 6, 30, tzinfo=timezone(timedelta(hours=-5))),
            "Europe/London",
            utc(2024, 6, 1, 11, 30),
        ),
        # Text is parsed into one of the above.
        ("2024-06-01", "Europe/London", utc(2024, 5, 31, 23)),
        ("2024-06-01T06:30", "Europe/London", utc(2024, 6, 1, 5, 30)),
        ("2024-06-01T06:30:00Z", "Europe/London", utc(2024, 6, 1, 6, 30)),
    ],
)
def test_bounds_are_read_by_type(bound, timezone_name, expected):
    windows = split(bound, utc(2024, 6, 3), "1d", timezone_name)

    assert windows[0].start == expected
    assert windows[0].start.tzinfo is UTC


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (
            "2024-01-02",
            "2024-01-01",
            "range is reversed: end 2024-01-01T00:00:00Z is before start 2024-01-02T00:00:00Z; "
            "swap --start and --end",
        ),
        (
            "2024-01-01",
            "2024-01-01",
            "range is empty: start and end are both 2024-01-01T00:00:00Z; the end is exclusive, "
            "so use an end after the start",
        ),
        (
            # The same instant written two ways is still empty.
            datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
            utc(2024, 1, 1),
            "range is empty: start and end are both 2024-01-01T00:00:00Z; the end is exclusive, "
            "so use an end after the start",
        ),
        (
            "2024-01-01",
            "01/02/2024",
            "'01/02/2024' is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]",
        ),
    ],
)
def test_bad_ranges_raise_with_the_fix(start, end, message):
    with pytest.raises(RangeError) as caught:
        split(start, end)

    assert caught.value.message == message


NOT_UNDERSTOOD = "is not understood: write a number and a unit, e.g. '1d', '6h', '15m'"


@pytest.mark.parametrize(
    ("length", "message"),
    [
        ("1x", f"window length '1x' {NOT_UNDERSTOOD}"),
        ("", f"window length '' {NOT_UNDERSTOOD}"),
        ("d", f"window length 'd' {NOT_UNDERSTOOD}"),
        ("1.5h", f"window length '1.5h' {NOT_UNDERSTOOD}"),
        ("0d", "window length '0d' must be positive"),
        (timedelta(0), "window length datetime.timedelta(0) must be positive"),
        (
            timedelta(hours=-1),
            "window length datetime.timedelta(days=-1, seconds=82800) must be positive",
        ),
    ],
)
def test_bad_window_lengths_are_refused(length, message):
    with pytest.raises(RangeError) as caught:
        split("2024-01-01", "2024-01-02", length)

    assert caught.value.message == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1d", timedelta(days=1)),
        ("6h", timedelta(hours=6)),
        ("15m", timedelta(minutes=15)),
        ("30s", timedelta(seconds=30)),
        ("2w", timedelta(weeks=2)),
        (" 12 h ", timedelta(hours=12)),
        (timedelta(minutes=5), timedelta(minutes=5)),
    ],
)
def test_window_lengths_are_parsed(text, expected):
    assert parse_length(text) == expected


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "Europe/Londn", "../etc/passwd", ""])
def test_an_unknown_timezone_names_the_fix(name):
    with pytest.raises(RangeError) as caught:
        split("2024-01-01", "2024-01-02", "1d", name)

    assert caught.value.message == (
        f"unknown timezone {name!r}: use an IANA name such as 'UTC' or 'Europe/London'"
    )


@pytest.mark.parametrize("name", ["UTC", "utc"])
def test_utc_is_accepted_in_any_case(name):
    assert split("2024-01-01", "2024-01-02", "1d", name) == [
        Window(utc(2024, 1, 1), utc(2024, 1, 2))
    ]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (
            datetime(2024, 1, 1),
            utc(2024, 1, 2),
            "window 2024-01-01 00:00:00..2024-01-02 00:00:00+00:00 must be timezone-aware",
        ),
        (
            utc(2024, 1, 1),
            datetime(2024, 1, 2),
            "window 2024-01-01 00:00:00+00:00..2024-01-02 00:00:00 must be timezone-aware",
        ),
        (
            utc(2024, 1, 1),
            utc(2024, 1, 1),
            "window end 2024-01-01 00:00:00+00:00 must be after its start "
            "2024-01-01 00:00:00+00:00",
        ),
        (
            utc(2024, 1, 2),
            utc(2024, 1, 1),
            "window end 2024-01-01 00:00:00+00:00 must be after its start "
            "2024-01-02 00:00:00+00:00",
        ),
    ],
)
def test_window_refuses_naive_or_non_increasing_bounds(start, end, message):
    with pytest.raises(RangeError) as caught:
        Window(start, end)

    assert caught.value.message == message


@pytest.mark.parametrize(
    ("window", "key", "text"),
    [
        (
            Window(utc(2024, 2, 29), utc(2024, 3, 1)),
            "2024-02-29T00:00:00Z/2024-03-01T00:00:00Z",
            "[2024-02-29T00:00:00Z, 2024-03-01T00:00:00Z)",
        ),
        (
            # Non-UTC bounds are written in UTC.
            Window(
                datetime(2024, 7, 1, tzinfo=LONDON),
                datetime(2024, 7, 1, 6, 15, 30, tzinfo=LONDON),
            ),
            "2024-06-30T23:00:00Z/2024-07-01T05:15:30Z",
            "[2024-06-30T23:00:00Z, 2024-07-01T05:15:30Z)",
        ),
    ],
)
def test_window_key_and_text(window, key, text):
    assert window.key == key
    assert str(window) == text
