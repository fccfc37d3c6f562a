"""The delivered-ranges ledger: which parts of time a job has delivered, as merged intervals.

One ledger per job. It keeps

- ``delivered``: every interval delivered with nothing left undelivered, whatever
  the job's code or target was at the time: the watermark is read from it;
- ``by_key``: the same per *delivery key* (the job's fingerprint and the resolved
  target URL): what a run may skip, so editing the SQL, the transform, the id or
  the target sends windows again;
- ``floor``: a watermark an operator set by hand (``db2api watermark JOB --set``).

Intervals are merged as they are added, so the record stays small whatever the
number of windows (a Prefect Variable holds at most 5,000 characters of JSON).
The watermark is the end of the gap-free interval that starts at the job's
``first_start`` (or, without one, at the earliest delivered moment): a run of a
later range records its interval but never moves the watermark across a gap.

Plain data and pure functions; :mod:`db2api.ledger_store` keeps it in Prefect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from db2api.errors import Db2apiError
from db2api.windows import Window, iso

Interval = tuple[datetime, datetime]
MAX_CHARS = 5000  # a Prefect Variable's value, as JSON
KEEP_KEYS = 4  # delivery keys remembered: the current one and a few before it
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)


def delivery_key(fingerprint: str, url: str) -> str:
    """What a delivered window depends on: the job's fingerprint and where it was sent."""
    return hashlib.sha256(f"{fingerprint}|{url}".encode()).hexdigest()[:12]


def merge(intervals: Iterable[Interval], more: Iterable[Interval] = ()) -> list[Interval]:
    """Sorted, with overlapping and touching intervals joined."""
    merged: list[Interval] = []
    for start, end in sorted([*intervals, *more]):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def clip(intervals: Iterable[Interval], end: datetime) -> list[Interval]:
    """The parts of ``intervals`` before ``end``."""
    return [(s, min(e, end)) for s, e in intervals if s < end]


def covers(intervals: Iterable[Interval], window: Window) -> bool:
    return any(s <= window.start and window.end <= e for s, e in intervals)


@dataclass
class Ledger:
    delivered: list[Interval] = field(default_factory=list)
    by_key: dict[str, list[Interval]] = field(default_factory=dict)
    floor: datetime | None = None

    def record(self, key: str, windows: Iterable[Window]) -> None:
        spans = [(w.start, w.end) for w in windows]
        self.delivered = merge(self.delivered, spans)
        self.by_key[key] = merge(self.by_key.pop(key, []), spans)  # now the most recent key
        for old in list(self.by_key)[:-KEEP_KEYS]:
            del self.by_key[old]

    def is_delivered(self, key: str, window: Window) -> bool:
        return covers(self.by_key.get(key, []), window)

    def counted(self) -> list[Interval]:
        """Delivered intervals with the operator's floor counted as delivered."""
        return merge(self.delivered, [(EARLIEST, self.floor)] if self.floor else [])

    def watermark(self, origin: datetime | None) -> datetime | None:
        """The end of the gap-free delivered interval that starts at ``origin``."""
        intervals = self.counted()
        if not intervals:
            return None
        origin = intervals[0][0] if origin is None else origin
        for start, end in intervals:
            if start <= origin <= end:
                return end
        return None

    def gaps(self, origin: datetime | None) -> list[Interval]:
        """What is missing between ``origin`` and the end of the last delivered interval."""
        intervals = self.counted()
        if not intervals:
            return []
        cursor = intervals[0][0] if origin is None else origin
        missing: list[Interval] = []
        for start, end in intervals:
            if start > cursor:
                missing.append((cursor, start))
            cursor = max(cursor, end)
        return missing

    def set_watermark(self, moment: datetime) -> None:
        """Everything before ``moment`` counts as delivered, nothing after it does.

        What a run may skip (``by_key``) is kept: those windows were delivered.
        """
        self.floor = moment
        self.delivered = clip(self.delivered, moment)

    def to_json(self) -> str:
        def spans(intervals: list[Interval]) -> list[list[str]]:
            return [[iso(s), iso(e)] for s, e in intervals]

        def encode() -> str:
            value = {
                "floor": iso(self.floor) if self.floor else None,
                "delivered": spans(self.delivered),
                "by_key": {key: spans(v) for key, v in self.by_key.items()},
            }
            return orjson.dumps(value).decode()

        text = encode()
        while len(text) > MAX_CHARS and len(self.by_key) > 1:
            del self.by_key[next(iter(self.by_key))]  # the oldest delivery key goes first
            text = encode()
        if len(text) > MAX_CHARS:
            raise Db2apiError(
                f"the delivered-ranges ledger has {len(self.delivered)} separate intervals, more "
                "than a Prefect Variable holds: run the gaps that `db2api watermark JOB` lists"
            )
        return text

    @classmethod
    def from_json(cls, value: object) -> Ledger:
        if isinstance(value, str):
            value = orjson.loads(value)
        if not isinstance(value, dict):
            return cls()

        def spans(items: object) -> list[Interval]:
            if not isinstance(items, list):
                return []
            return merge((moment(s), moment(e)) for s, e in items)

        by_key = value.get("by_key") or {}
        floor = value.get("floor")
        return cls(
            delivered=spans(value.get("delivered")),
            by_key={str(k): spans(v) for k, v in by_key.items()},
            floor=moment(floor) if floor else None,
        )


def moment(text: str) -> datetime:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)


def describe(intervals: Iterable[Interval]) -> str:
    return " ".join(f"[{iso(s)}, {iso(e)})" for s, e in intervals) or "none"
