"""The check's sample window ends at the given day, or today, in the job's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from db2api.ops.check import recent_window
from tests.support.jobs import unit_job


def test_the_window_ends_at_the_given_day_in_the_jobs_zone() -> None:
    job = unit_job(timezone="Europe/Paris")
    window = recent_window(job, date(2024, 3, 31))  # the night clocks go forward: 23 hours
    assert window.start == datetime(2024, 3, 29, 23, tzinfo=UTC)
    assert window.end == datetime(2024, 3, 30, 23, tzinfo=UTC)


def test_the_default_window_ends_today_at_midnight() -> None:
    window = recent_window(unit_job())
    today = datetime.now(UTC).date()
    assert window.end == datetime(today.year, today.month, today.day, tzinfo=UTC)
    assert window.end - window.start == unit_job().window_length
