import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from db2api.errors import RangeError
from db2api.report import WindowReport
from db2api.watermark import advance, plan, today_start
from db2api.windows import Window
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

    assert work.from_watermark and not work.refresh
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


def test_a_lag_reads_recent_windows_again_even_though_they_are_done():
    work = plan(job(lag="2d"), None, None, watermark=utc(2024, 3, 9), now=NOW)

    assert work.start == utc(2024, 3, 7)
    assert sorted(w.start for w in work.refresh) == [utc(2024, 3, 7), utc(2024, 3, 8)]
    assert [w.start for w in work.windows] == [utc(2024, 3, 7), utc(2024, 3, 8), utc(2024, 3, 9)]


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


def ok(window: Window, **changes) -> WindowReport:
    return WindowReport(window.key, **{"rows": 10, "acked": 10, **changes})


@pytest.mark.parametrize(
    ("watermark", "reports", "expected"),
    [
        # every window complete: the watermark moves to the end of the run
        (utc(2024, 3, 1), [ok(w) for w in DAYS], utc(2024, 3, 5)),
        # stops before the first incomplete window, even if later ones completed
        (
            utc(2024, 3, 1),
            [
                ok(DAYS[0]),
                ok(DAYS[1], dead=1, acked=9, error="1 dead letters"),
                ok(DAYS[2]),
                ok(DAYS[3]),
            ],
            utc(2024, 3, 2),
        ),
        # a failed first window leaves it where it was
        (
            utc(2024, 3, 1),
            [ok(DAYS[0], error="SourceLost: gone")] + [ok(w) for w in DAYS[1:]],
            utc(2024, 3, 1),
        ),
        # windows done by an earlier run count as complete
        (utc(2024, 3, 1), [ok(w, cached=True) for w in DAYS], utc(2024, 3, 5)),
        # no watermark yet: the run sets it
        (None, [ok(w) for w in DAYS[:2]], utc(2024, 3, 3)),
        # never backwards: re-running old windows keeps a later watermark
        (utc(2024, 3, 20), [ok(w) for w in DAYS], utc(2024, 3, 20)),
    ],
)
def test_advance(watermark, reports, expected):
    assert advance(watermark, DAYS[: len(reports)], reports) == expected


def test_a_run_that_starts_after_the_watermark_leaves_a_gap_and_does_not_move_it():
    later = [Window(utc(2024, 4, d), utc(2024, 4, d + 1)) for d in (1, 2)]

    assert advance(utc(2024, 3, 1), later, [ok(w) for w in later]) == utc(2024, 3, 1)


def test_an_empty_run_keeps_the_watermark():
    assert advance(utc(2024, 3, 1), [], []) == utc(2024, 3, 1)
    assert advance(None, [], []) is None


def test_lag_windows_are_contiguous_with_the_watermark():
    work = plan(job(lag="6h", window="6h"), None, None, watermark=utc(2024, 3, 9, 12), now=NOW)

    assert work.windows[0].start == utc(2024, 3, 9, 6)
    assert all(a.end == b.start for a, b in itertools.pairwise(work.windows))
    assert work.windows[-1].end == utc(2024, 3, 10) and timedelta(hours=6) == (
        work.windows[0].end - work.windows[0].start
    )
