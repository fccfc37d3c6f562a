"""Which windows a run covers, and which of them may count as delivered.

The watermark is the end of the gap-free delivered history of the target the job
points at now (its delivery key, see :mod:`db2api.records.ledger`): a job pointed at a new
target fills it from ``first_start``. A run without an explicit range covers
``[watermark, today 00:00)`` in the job's timezone, so a night that was missed or
failed is caught up by the next one.

Nothing is done before it has happened: a window that has not ended yet (its end
after now, or after now - ``lag`` when the job has one) is *open*. An open window
is sent, but never recorded as delivered nor journalled, so every run reads it again
until it has settled; a window that starts after now is not sent at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from db2api.errors import RangeError
from db2api.job import Job
from db2api.records.windows import (
    Window,
    iso,
    iter_windows,
    parse_length,
    short,
    span,
    split,
    to_moment,
    zone,
)
from db2api.run.report import WindowReport


@dataclass(frozen=True)
class Plan:
    start: datetime
    end: datetime
    windows: list[Window]
    from_watermark: bool
    # Windows that have not settled yet: sent, never recorded as delivered or journalled.
    open: frozenset[Window] = field(default_factory=frozenset)
    # One line for the run's log: why nothing is done, or what was left out.
    note: str = ""

    @property
    def label(self) -> str:
        return span(self.start, self.end)


def settled_before(job: Job, now: datetime) -> datetime:
    """Windows ending after this moment have not settled: late rows may still arrive."""
    return now - (parse_length(job.lag, "lag") if job.lag else timedelta(0))


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
    now = now or datetime.now(UTC)
    hi = to_moment(end, tz) if end is not None else today_start(job, now)
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
        return _settle(job, Plan(lo, hi, windows, from_watermark=False), now)
    if watermark is None:
        if job.first_start is None:
            raise RangeError(
                f"job {job.name!r} has no watermark yet and no first_start: give a start for "
                "the first run (db2api run JOB --start YYYY-MM-DD), or set first_start in the job"
            )
        lo = to_moment(job.first_start, tz)
        if lo >= now:
            note = (
                f"nothing to do: job {job.name!r} starts at its first_start {short(lo)}, "
                "which is in the future"
            )
            return Plan(lo, lo, [], from_watermark=True, note=note)
    else:
        lo = watermark
    windows = list(iter_windows(lo, hi, step, tz)) if hi > lo else []
    work = Plan(lo, max(hi, lo), windows, from_watermark=True)
    if not windows:
        note = f"nothing to do: the watermark is already at {short(lo)}"
        if watermark is None:
            note = f"nothing to do: job {job.name!r} starts at {short(lo)}, today's start"
        return Plan(lo, max(hi, lo), [], from_watermark=True, note=note)
    return _settle(job, work, now)


def _settle(job: Job, work: Plan, now: datetime) -> Plan:
    """Drop windows that start after now; mark those not settled yet as open."""
    cutoff = settled_before(job, now)
    windows = [w for w in work.windows if w.start < now]
    opened = frozenset(w for w in windows if w.end > cutoff)
    note = ""
    if len(windows) < len(work.windows):
        note = (
            f"the range reaches into the future: sending up to now ({iso(now)}); "
            f"{len(work.windows) - len(windows)} later windows left out"
        )
    if opened:
        reason = f"ended less than {job.lag} ago" if job.lag else "not ended yet"
        note += ("; " if note else "") + (
            f"{len(opened)} windows have {reason}: sent, but not recorded as delivered, so "
            "the next runs send them again"
        )
    if not windows:
        note = f"nothing to do: the range [{work.label}) has not begun yet (now is {iso(now)})"
    return Plan(work.start, work.end, windows, work.from_watermark, opened, note)


def is_complete(report: WindowReport) -> bool:
    return report.skipped or (not report.error and report.dead == 0 and report.rows >= 0)
