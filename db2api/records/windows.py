"""Half-open time windows, the unit of work, of the ledger and of the watermark.

A window is ``[start, end)`` in UTC, so a row stamped exactly on a boundary belongs
to the later window and is read once. Whole-day window lengths follow the job's
calendar (a day across a DST change is 23 or 25 hours, and every window still
starts at local midnight); shorter lengths step in UTC so no hour is read twice
or skipped when clocks change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db2api.errors import RangeError

DAY = timedelta(days=1)
_LENGTH = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, order=True)
class Window:
    """One ``[start, end)`` slice of a range, both ends aware and in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise RangeError(f"window {self.start}..{self.end} must be timezone-aware")
        if self.end <= self.start:
            raise RangeError(f"window end {self.end} must be after its start {self.start}")

    @property
    def key(self) -> str:
        """A stable text form used in dead letters, the ledger's journal and file names."""
        return f"{iso(self.start)}/{iso(self.end)}"

    def __str__(self) -> str:
        return f"[{iso(self.start)}, {iso(self.end)})"


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with ``Z``: the form documents carry their datetimes in."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short(moment: datetime) -> str:
    """A compact UTC label for run names: the date alone when it is midnight."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    return text[:10] if text.endswith("T00:00Z") else text


def span(start: datetime, end: datetime) -> str:
    """``start→end`` in run names: a backfill part and the run it becomes say the same."""
    return f"{short(start)}→{short(end)}"


def zone(name: str) -> tzinfo:
    """The timezone called ``name``, or a one-line error naming the fix."""
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RangeError(
            f"unknown timezone {name!r}: use an IANA name such as 'UTC' or 'Europe/London'"
        ) from exc


def parse_length(value: str | timedelta, what: str = "window length") -> timedelta:
    """Read a length such as ``1d``, ``6h`` or ``15m``; ``what`` names it in errors."""
    if isinstance(value, timedelta):
        length = value
    else:
        match = _LENGTH.match(str(value))
        if not match:
            raise RangeError(
                f"{what} {value!r} is not understood: write a number and a unit, "
                "e.g. '1d', '6h', '15m'"
            )
        length = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if length <= timedelta(0):
        hint = ": leave lag unset to re-read nothing, or write e.g. '2d'" if what == "lag" else ""
        raise RangeError(f"{what} {value!r} must be positive{hint}")
    return length


def to_moment(value: date | datetime | str, tz: tzinfo) -> datetime:
    """Turn a user's bound into an aware UTC moment.

    A date means midnight in the job's timezone; a naive datetime is read in the
    job's timezone; an aware datetime is taken as it is.
    """
    if isinstance(value, str):
        value = parse_moment(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=tz).astimezone(UTC)
    raise RangeError(f"{value!r} is not a date or datetime: write it as YYYY-MM-DD")


def parse_moment(text: str) -> date | datetime:
    """Parse ``YYYY-MM-DD`` or an ISO 8601 datetime (``Z`` accepted)."""
    cleaned = text.strip()
    try:
        if len(cleaned) == 10:
            return date.fromisoformat(cleaned)
        return datetime.fromisoformat(cleaned.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise RangeError(
            f"{text!r} is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+HH:MM]"
        ) from exc


def split(
    start: date | datetime | str,
    end: date | datetime | str,
    length: str | timedelta = DAY,
    timezone: str = "UTC",
) -> list[Window]:
    """Split ``[start, end)`` into consecutive windows of ``length``.

    The last window may be shorter. A reversed or empty range is an error rather
    than an empty list, because a run that silently does nothing hides a typo.
    """
    tz = zone(timezone)
    step = parse_length(length)
    lo, hi = to_moment(start, tz), to_moment(end, tz)
    if hi < lo:
        raise RangeError(
            f"range is reversed: end {iso(hi)} is before start {iso(lo)}; swap --start and --end"
        )
    if hi == lo:
        raise RangeError(
            f"range is empty: start and end are both {iso(lo)}; the end is exclusive, "
            "so use an end after the start"
        )
    return list(iter_windows(lo, hi, step, tz))


def iter_windows(lo: datetime, hi: datetime, step: timedelta, tz: tzinfo) -> Iterator[Window]:
    calendar = step % DAY == timedelta(0)
    cursor = lo.astimezone(tz) if calendar else lo
    while True:
        start = cursor.astimezone(UTC)
        if start >= hi:
            return
        # Aware arithmetic in a ZoneInfo zone moves the wall clock, so whole days
        # land on local midnights; UTC arithmetic keeps sub-day steps exact.
        cursor = cursor + step
        end = min(cursor.astimezone(UTC), hi)
        yield Window(start, end)


def as_moment(value: Any, tz: tzinfo) -> datetime | None:
    """A document's time as an aware UTC datetime (naive values are in ``tz``)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            return None
    if isinstance(value, datetime):
        return (value.replace(tzinfo=tz) if value.tzinfo is None else value).astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=tz).astimezone(UTC)
    return None
