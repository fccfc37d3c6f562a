import itertools
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from db2api.errors import RangeError
from db2api.records.windows import Window
from db2api.run.planning import plan, today_start
from tests.support.jobs import unit_job as job

NOW = datetime(2024, 3, 10, 9, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_an_explicit_range_ignores_the_watermark():
    work = plan(job(), date(2024, 1, 1), date(2024, 1, 3), watermark=utc(2024, 3, 1), now=NOW)

    assert not work.from_watermark
    assert [w.start for w in work.windows] == [utc(2024, 1, 1), utc(2024, 1, 2)]
    assert work.label == "2024-01-01→2024-01-03"


def test_no_range_runs_from_the_watermark_to_today():
    work = plan(job(), None, None, watermark=utc(2024, 3, 7), now=NOW)

    assert work.from_watermark and not work.open
    assert (work.start, work.end) == (utc(2024, 3, 7), utc(2024, 3, 10))
    assert len(work.windows) == 3


def test_a_watermark_at_today_means_nothing_to_do():
    work = plan(job(), None, None, watermark=utc(2024, 3, 10), now=NOW)

    assert work.windows == [] and work.from_watermark


def test_the_first_run_starts_at_first_start():
    work = plan(job(first_start=date(2024, 3, 8)), None, None, watermark=None, now=NOW)

    assert work.start == utc(2024, 3, 8) and len(work.windows) == 2


def test_no_watermark_and_no_first_start_is_a_clear_error_not_1970():
    with pytest.raises(RangeError) as caught:
        plan(job(), None, None, watermark=None, now=NOW)

    assert str(caught.value) == (
        "job 'unit' has no watermark yet and no first_start: give a start for the first run "
        "(db2api run JOB --start YYYY-MM-DD), or set first_start in the job"
    )


def test_a_start_alone_runs_to_today_and_must_be_before_it():
    assert plan(job(), date(2024, 3, 9), None, None, now=NOW).end == utc(2024, 3, 10)
    with pytest.raises(RangeError, match="is not before today's start 2024-03-10T00:00:00Z"):
        plan(job(), date(2024, 3, 12), None, None, now=NOW)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 00:30 in London during summer time is still the previous day in UTC.
        (datetime(2024, 7, 1, 23, 30, tzinfo=UTC), datetime(2024, 7, 1, 23, 0, tzinfo=UTC)),
        (datetime(2024, 7, 1, 22, 30, tzinfo=UTC), datetime(2024, 6, 30, 23, 0, tzinfo=UTC)),
        (datetime(2024, 1, 15, 0, 30, tzinfo=UTC), datetime(2024, 1, 15, 0, 0, tzinfo=UTC)),
    ],
)
def test_today_starts_at_local_midnight_in_the_jobs_timezone(now, expected):
    assert today_start(job(timezone="Europe/London"), now) == expected
    local = expected.astimezone(ZoneInfo("Europe/London"))
    assert (local.hour, local.minute) == (0, 0)


DAYS = [Window(utc(2024, 3, d), utc(2024, 3, d + 1)) for d in range(1, 5)]


def test_lag_keeps_recent_windows_open_so_every_run_reads_them_again():
    work = plan(job(lag="2d"), None, None, watermark=utc(2024, 3, 7), now=NOW)

    assert work.start == utc(2024, 3, 7)
    assert [w.start for w in work.windows] == [utc(2024, 3, 7), utc(2024, 3, 8), utc(2024, 3, 9)]
    # now - 2d = 03-08 09:30: the windows ending after it have not settled
    assert sorted(w.start for w in work.open) == [utc(2024, 3, 8), utc(2024, 3, 9)]
    assert "2 windows have ended less than 2d ago" in work.note


def test_a_range_into_the_future_is_sent_up_to_now_and_says_so():
    work = plan(job(), date(2024, 3, 8), date(2030, 1, 1), watermark=None, now=NOW)

    assert [w.start for w in work.windows] == [utc(2024, 3, 8), utc(2024, 3, 9), utc(2024, 3, 10)]
    assert [w.start for w in work.open] == [utc(2024, 3, 10)], "today has not ended"
    assert work.note.startswith(
        "the range reaches into the future: sending up to now (2024-03-10T09:30:00Z); "
    )


def test_a_range_wholly_in_the_future_is_nothing_to_do():
    work = plan(job(), date(2024, 4, 1), date(2024, 4, 3), watermark=None, now=NOW)

    assert work.windows == []
    assert work.note.startswith("nothing to do: the range [2024-04-01→2024-04-03) has not begun")


def test_a_first_start_in_the_future_says_exactly_that():
    work = plan(job(first_start=date(2030, 1, 1)), None, None, watermark=None, now=NOW)

    assert work.windows == []
    assert work.note == (
        "nothing to do: job 'unit' starts at its first_start 2030-01-01, which is in the future"
    )


def test_lag_windows_are_contiguous_with_the_watermark():
    work = plan(job(lag="6h", window="6h"), None, None, watermark=utc(2024, 3, 9, 12), now=NOW)

    assert work.windows[0].start == utc(2024, 3, 9, 12)
    assert all(a.end == b.start for a, b in itertools.pairwise(work.windows))
    assert work.windows[-1].end == utc(2024, 3, 10)
    assert work.open == frozenset(), "every window ended before now - 6h (03-10 03:30)"
