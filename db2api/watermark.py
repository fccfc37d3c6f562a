"""Which range a run covers, and how far the watermark may move afterwards.

The watermark is the end of the last window delivered with nothing left undelivered.
A run without an explicit range covers ``[watermark - lag, today 00:00)`` in the
job's timezone, so a night that was missed or failed is caught up by the next one.
The watermark only moves forward, and only over a gap-free run of complete windows
that starts at or before it: a manual run of some later month cannot make the
nightly run skip what lies in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from db2api.errors import RangeError
from db2api.job import Job
from db2api.report import WindowReport
from db2api.windows import Window, iso, iter_windows, parse_length, span, split, to_moment, zone


@dataclass(frozen=True)
class Plan:
    start: datetime
    end: datetime
    windows: list[Window]
    from_watermark: bool
    # Windows inside the late-data lag: read again even though they are done.
    refresh: frozenset[Window] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        return span(self.start, self.end)


def today_start(job: Job, now: datetime | None = None) -> datetime:
    """00:00 today in the job's timezone, as a UTC moment: the end of a nightly run."""
    tz = zone(job.timezone)
    local = (now or datetime.now(UTC)).astimezone(tz)
    return datetime.combine(local.date(), time(0), tzinfo=tz).astimezone(UTC)


def plan(
    job: Job,
    start: date | datetime | str | None,
    end: date | datetime | str | None,
    watermark: datetime | None,
    now: datetime | None = None,
) -> Plan:
    tz = zone(job.timezone)
    step = job.window_length
    hi = to_moment(end, tz) if end is not None else today_start(job, now)
    refresh: frozenset[Window] = frozenset()
    if start is not None:
        lo = to_moment(start, tz)
        if end is not None:
            windows = split(start, end, step, job.timezone)
        elif hi <= lo:
            raise RangeError(
                f"start {iso(lo)} is not before today's start {iso(hi)} ({job.timezone}): "
                "give an end too, or an earlier start"
            )
        else:
            windows = list(iter_windows(lo, hi, step, tz))
        return Plan(lo, hi, windows, from_watermark=False)
    if watermark is None:
        if job.first_start is None:
            raise RangeError(
                f"job {job.name!r} has no watermark yet and no first_start: give a start for "
                "the first run (db2api run JOB --start YYYY-MM-DD), or set first_start in the job"
            )
        lo = to_moment(job.first_start, tz)
    else:
        lag = parse_length(job.lag, "lag") if job.lag else timedelta(0)
        lo = watermark - lag
    windows = list(iter_windows(lo, hi, step, tz)) if hi > lo else []
    if watermark is not None:
        refresh = frozenset(w for w in windows if w.start < watermark)
    return Plan(lo, max(hi, lo), windows, from_watermark=True, refresh=refresh)


def is_complete(report: WindowReport) -> bool:
    return report.cached or (not report.error and report.dead == 0 and report.rows >= 0)


def advance(
    watermark: datetime | None, windows: list[Window], reports: list[WindowReport]
) -> datetime | None:
    """The new watermark after a run over ``windows`` (in order) with these reports."""
    if not windows:
        return watermark
    if watermark is not None and windows[0].start > watermark:
        return watermark  # a gap lies between the watermark and this run
    reached = None
    for window, report in zip(windows, reports, strict=True):
        if not is_complete(report):
            break
        reached = window.end
    if reached is None:
        return watermark
    return reached if watermark is None else max(watermark, reached)
